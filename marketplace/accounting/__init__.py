"""The accounting context: the clearing ledger over HTTP and the command line (balances, statements, export,
periods, verification). The bookkeeping itself lives in the ``ledger`` library; this context decides who sees
what and turns its values into the API's Structs.
"""
