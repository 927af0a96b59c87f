"""Vehicles and parking: monthly permits, plate events from gate cameras, temporary parking sessions
charged by time, space occupancy and a block list (issue #5 item 5). Models are added by the parking
work; see the module docstrings of services.py."""
