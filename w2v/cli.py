"""The `w2v` command line: train, similar, analogy, eval, info, convert.

main(argv=None) -> int. A user mistake (W2VError) prints one line to stderr and exits 2;
Ctrl-C exits 130.
"""
import argparse
import sys

from .errors import W2VError


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, then exit 2, as argparse does, but with our prefix
        self.exit(2, f"{self.prog}: error: {message}\n")


# ---------------------------------------------------------------------------------------
# train
# ---------------------------------------------------------------------------------------

def _add_train(sub):
    p = sub.add_parser("train", help="train word vectors from a text corpus")
    p.add_argument("corpus", help="text file, .gz file, or directory of such files")
    p.set_defaults(func=cmd_train)
    return p


def cmd_train(args):
    raise W2VError("train is not available yet")


# ---------------------------------------------------------------------------------------
# vector commands (similar, analogy, eval, info, convert)
# ---------------------------------------------------------------------------------------

def _add_vector_commands(sub):
    pass


# ---------------------------------------------------------------------------------------

def build_parser():
    parser = _Parser(prog="w2v", description="Fast word2vec: train, query and evaluate word vectors.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    _add_train(sub)
    _add_vector_commands(sub)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args) or 0
    except W2VError as exc:
        print(f"w2v: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("w2v: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `w2v similar ... | head`
        return 0
