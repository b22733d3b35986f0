"""Building what Lambda runs: ``python -m lambda_runtime package`` and its pieces.

One job a module: ``project`` (which files are the function's own code), ``dependencies`` (pip, for
the target's platform and Python), ``wrapper`` (the ``bootstrap`` a managed runtime starts),
``archive`` (the deterministic zip), ``container`` (the Dockerfile) and ``command`` (the command
line). None of it is imported when a function starts: only the ``package`` command loads it.
"""
