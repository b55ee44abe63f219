"""Signing secrets at rest: sealed with authenticated encryption (Fernet), keys rotatable.

`WEBHOOKD_SECRET_KEY` is a comma-separated list of Fernet keys. The first one seals;
every one can open, so a new key goes first and the old ones stay until
`webhookd reseal` has re-sealed every stored secret with the new key. The store only
ever holds sealed text. A secret is opened at the moment a delivery is signed, and a
plaintext secret leaves webhookd in exactly two answers: create and rotate-secret.
The secret of a webhook's `auth` (a password, token, header value or OAuth2 client
secret) is sealed the same way, opened only to make a request, and never answered.
"""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


def new_key() -> str:
    return Fernet.generate_key().decode()


class Sealer:
    def __init__(self, keys: str) -> None:
        parts = [key.strip() for key in keys.split(",") if key.strip()]
        if not parts:
            raise ValueError("needs at least one key")
        try:
            self._fernet = MultiFernet([Fernet(key) for key in parts])
        except ValueError:
            raise ValueError(
                "each key must be 32 url-safe base64-encoded bytes; generate one with: "
                'python3 -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())"'
            ) from None

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise ValueError(
                "a stored webhook secret cannot be opened with WEBHOOKD_SECRET_KEY: "
                "was a key removed from the list?"
            ) from None

    def reseal(self, sealed: str) -> str:
        """The same secret sealed with the first key (after a key was added)."""
        try:
            return self._fernet.rotate(sealed.encode()).decode()
        except InvalidToken:
            raise ValueError(
                "a stored webhook secret cannot be opened with WEBHOOKD_SECRET_KEY: "
                "keep the old key in the list (NEW,OLD) until reseal has run"
            ) from None
