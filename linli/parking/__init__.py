"""Vehicles and parking (issue #5 item 5): fee rules, permits of resident vehicles billed through
billing, plate events from the gate cameras (``services.plate_read_record``, the adapters' entry
point), parking sessions of temporary and visiting vehicles charged by time, occupancy, a block list,
the guard's booth and retention purges. See the docstrings of ``models`` and ``services``."""
