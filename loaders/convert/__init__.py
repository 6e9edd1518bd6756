"""Converters: files of another format into contract files that ``crm7 load`` reads.

- ``ksef``: KSeF e-invoices (FA(2), FA(3)) into one invoices-contract file.

What every converter shares lives outside this package: the XML guard in
``loaders.xml_safety`` (every XML input is read through it) and the limits of the field
a value is written to in ``loaders.contracts.facets`` (read from the contract's XSD, so
that no converter repeats one).
"""
