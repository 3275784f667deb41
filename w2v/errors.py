"""The one exception type a user sees for their own mistakes."""


class W2VError(Exception):
    """A problem with the user's input or environment; the message says what to fix.

    The command line prints it as one line and exits non-zero, without a traceback.
    """


class DivergedError(W2VError):
    """Training that diverged: a score became NaN or infinite, or the loss per example grew far past an
    untrained model's. The message says which and what to change (the learning rate)."""


class UnknownWordError(W2VError, KeyError):
    """A word that is not in the vocabulary."""

    def __init__(self, word):
        self.word = word
        super().__init__(f"word {word!r} is not in the vocabulary")

    def __str__(self):  # KeyError would otherwise print the repr of the args
        return self.args[0]


class WordEncodingError(W2VError, UnicodeDecodeError):
    """A word whose bytes are not valid UTF-8; also a UnicodeDecodeError (what gensim raises there)."""

    def __init__(self, message, raw=b"", start=0, end=1, reason="invalid data"):
        UnicodeDecodeError.__init__(self, "utf-8", raw, start, end, reason)
        self.message = message

    def __str__(self):
        return self.message


class SentenceTypeError(W2VError, TypeError):
    """A corpus element of the wrong kind (a sentence that is neither a token list nor a string, a token
    that is not a string); also a TypeError, as gensim raises for such input."""


class TruncatedFileError(W2VError, EOFError):
    """A vector file that is truncated or corrupt (it ends before its header says it should); also an
    EOFError, as gensim raises for a file shorter than its header."""


class EmptyVocabularyError(W2VError):
    """A corpus with no tokens, or none that pass min-count: there is no vocabulary to train."""
