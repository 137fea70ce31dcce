"""Sizes as AWS counts them: the UTF-8 bytes of a text, which every target's size count is made of."""


def utf8_length(text: str) -> int:
    # surrogatepass: a lone surrogate still has a size (botocore sends it \u-escaped).
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
