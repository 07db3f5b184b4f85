"""Values whose methods lie, for the suites that check that what wsapeer checks
is what it marshals (test_exact_values, test_hostile_arguments)."""

PEER = ("192.0.2.1", 5150)


class LyingInt(int):
    """Compares, hashes and converts as another value."""

    def __new__(cls, value, claims):
        obj = super().__new__(cls, value)
        obj.claims = claims
        return obj

    def __eq__(self, other):
        return self.claims == other

    def __hash__(self):
        return hash(self.claims)

    def __lt__(self, other):
        return self.claims < other

    def __le__(self, other):
        return self.claims <= other

    def __gt__(self, other):
        return self.claims > other

    def __ge__(self, other):
        return self.claims >= other

    def __index__(self):
        return self.claims

    def __int__(self):
        return self.claims

    def __and__(self, other):
        return self.claims & other

    def __bool__(self):
        return bool(self.claims)

    def __repr__(self):
        return f"LyingInt({int.__repr__(self)}, claims={self.claims})"


class LyingStr(str):
    """Hides what its checks look for."""

    def find(self, *args):
        return -1

    def __contains__(self, item):
        return False

    def __len__(self):
        return 6

    def isdigit(self):
        return True


class LyingFloat(float):
    def __ge__(self, other):
        return True

    def __le__(self, other):
        return True

    def __lt__(self, other):
        return False

    def __gt__(self, other):
        return False


class LyingTuple(tuple):
    def __len__(self):
        return 2

    def __getitem__(self, index):
        return PEER[index]


class FilenoGives:
    """An object whose fileno() returns what it was given."""

    def __init__(self, value):
        self.value = value

    def fileno(self):
        return self.value

    def __repr__(self):
        return f"FilenoGives({self.value!r})"
