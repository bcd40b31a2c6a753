"""Case references: short enough to read over the phone, long enough not to guess."""

import secrets

# Crockford's base32 without I, L, O, U: no characters that read alike.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
GROUPS = 3
GROUP_LEN = 4  # 12 symbols x 5 bits = 60 bits


def new_reference() -> str:
    body = "-".join("".join(secrets.choice(ALPHABET) for _ in range(GROUP_LEN)) for _ in range(GROUPS))
    return f"RD-{body}"


def clean_reference(text: str) -> str:
    """Accept what a person types: any case, spaces, O for 0, I/L for 1."""
    cleaned = text.strip().upper().replace(" ", "").translate(str.maketrans("OIL", "011"))
    return cleaned
