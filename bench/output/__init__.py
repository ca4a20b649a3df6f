"""Writers: each output format turns records (or comparison rows) into text behind one interface.

`get_writer(name).serialize(items) -> str`; the command decides where the text goes (stdout or a file), in the manner
of hyperfine's exporters. Formats: table (terminal), csv, json, markdown, junit.
"""

from bench.output.writers import Writer, get_writer, write

__all__ = ["Writer", "get_writer", "write"]
