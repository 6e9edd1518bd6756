"""Converters: files of another format into contract files that ``crm7 load`` reads.

- ``ksef``: KSeF e-invoices (FA(2), FA(3)) into one invoices-contract file.
- ``jpk``: JPK_V7M/V7K, JPK_FA and JPK_MAG (by namespace) into contractors, invoices and
  warehouse-documents files.
- ``edipp``: EDI++ (.epp) exports into contractors, products, prices, invoices and
  warehouse-documents files.
- ``table``: CSV and XLSX (pandas) into one contractors or products file by a YAML profile.

``output`` writes contract files for all of them (streamed, all or nothing), ``values``
holds the small value rules they share. What every converter shares lives outside this
package too: the XML guard in ``loaders.xml_safety`` (every XML input is read through it)
and the limits of the field a value is written to in ``loaders.contracts.facets`` (read
from the contract's XSD, so that no converter repeats one).
"""
