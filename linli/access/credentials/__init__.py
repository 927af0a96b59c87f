"""Non-biometric credentials: 一码通 QR identities with their signed codes and signing keys, cards, PINs."""
