"""Optional face and voiceprint access under separate consent, and the door-device command queue."""
