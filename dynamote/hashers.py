"""Password hashing that cannot starve the process.

A password hash is meant to be slow (about a CPU-second by design); a flood of sign-ins, good
or bad, would otherwise keep every CPU busy hashing while /api/health waits its turn and the
pod is restarted. At most half the CPUs (at least one) hash at once; other sign-ins wait
idle for a slot.
"""

import os
import threading

from django.contrib.auth.hashers import PBKDF2PasswordHasher

HASHING_SLOTS = max(1, (os.cpu_count() or 2) // 2)
_slots = threading.BoundedSemaphore(HASHING_SLOTS)


class BoundedPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    """Django's default hasher (same algorithm, same stored hashes), a few hashes at a time."""

    def encode(self, password, salt, iterations=None):
        with _slots:
            return super().encode(password, salt, iterations)
