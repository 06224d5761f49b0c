"""Live mode: follow logs as they grow (``tail -F``), judge each record as it arrives.

``tail`` follows one path through rotations; ``follow`` reads each followed input in a thread
with the reader its head names; ``order`` puts records of several inputs in time order with a
lateness bound (a watermark); ``stream`` ties them into one stream of released items; ``run``
feeds it to the one judge; ``classify`` and ``analyze`` are the two commands' bodies
(``hgobs classify --follow``, ``hgobs classify -`` on a pipe, ``hgobs analyze --follow``),
``window`` the live summary's sliding window, ``options`` their command-line options.
"""
