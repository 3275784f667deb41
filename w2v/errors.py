"""The one exception type a user sees for their own mistakes."""


class W2VError(Exception):
    """A problem with the user's input or environment; the message says what to fix.

    The command line prints it as one line and exits non-zero, without a traceback.
    """


class UnknownWordError(W2VError, KeyError):
    """A word that is not in the vocabulary."""

    def __init__(self, word):
        self.word = word
        super().__init__(f"word {word!r} is not in the vocabulary")

    def __str__(self):  # KeyError would otherwise print the repr of the args
        return self.args[0]
