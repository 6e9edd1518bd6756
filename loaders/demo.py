def run_demo() -> int:
    raise NotImplementedError
