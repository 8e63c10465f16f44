"""A corpus of hostile files, generated: bombs, deep nesting, entity attacks, broken documents.

``build(dest)`` writes the corpus and returns what each file must produce: ``"limited"`` files
must end partial, skipped or failed with a reason; ``"readable"`` ones are odd but legitimate and
must be read with their planted SSN found. Run ``python tests/data/hostile.py DIR`` to write it
for the benchmark (bench/extract_speed.py) or a manual ``perimeter scan DIR``.
"""

from __future__ import annotations

import gzip
import struct
import sys
import zlib
from pathlib import Path

if __package__ in (None, ""):
    sys.path.append(str(Path(__file__).resolve().parent.parent))

from data import docgen, docgen_extra

SSN = "536-22-1234"
MiB = 1024 * 1024


def zip_bomb_nested(levels: int = 3, fanout: int = 10, leaf_mib: int = 20) -> bytes:
    """42.zip-like: each layer holds ``fanout`` copies of the layer below; 20 MiB zeros at the
    bottom, so the whole expands to ``leaf_mib * fanout**levels`` MiB."""
    layer = docgen.zip_of({"zeros.bin": bytes(leaf_mib * MiB)})
    for level in range(levels - 1):
        layer = docgen.zip_of({f"l{level}-{i}.zip": layer for i in range(fanout)})
    return layer


def zip_bomb_overlapping(entries: int = 2000, kernel_mib: int = 16) -> bytes:
    """Many central-directory entries that all point at one compressed stream (the overlap in
    Fifield's construction, taken to the extreme): tiny file, huge total."""
    raw = bytes(kernel_mib * MiB)
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = comp.compress(raw) + comp.flush()
    crc = zlib.crc32(raw)
    name = b"kernel.bin"
    local = (
        struct.pack(
            "<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(data), len(raw), len(name), 0
        )
        + name
        + data
    )
    fields = (0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(data), len(raw), len(name))
    entry = struct.pack("<IHHHHHHIIIHHHHHII", *fields, 0, 0, 0, 0, 0, 0) + name
    central = entry * entries  # every entry's local-header offset is 0: the same stream
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, entries, entries, len(central), len(local), 0)
    return local + central + end


def nested_archive(depth: int = 20) -> bytes:
    data = f"bottom of the well: {SSN}\n".encode()
    name = "secret.txt"
    for level in range(depth):
        data, name = docgen.zip_of({name: data}), f"level{depth - level}.zip"
    return data


def billion_laughs() -> bytes:
    lines = ['<?xml version="1.0"?>', "<!DOCTYPE lolz [", '<!ENTITY lol "lol">']
    for i in range(1, 10):
        prev = f"&lol{i - 1 if i > 1 else ''};" * 10
        lines.append(f'<!ENTITY lol{i} "{prev}">')
    lines += ["]>", "<lolz>&lol9;</lolz>"]
    return "\n".join(lines).encode()


def external_entity() -> bytes:
    return (
        b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
        b"<r>&xxe;</r>\n"
    )


def sevenzip_bomb(mib: int = 64) -> bytes:
    """One member of zeros in a solid LZMA2 block: ~10 KB that declares ``mib`` MiB."""
    return docgen_extra.sevenzip({"zeros.bin": bytes(mib * MiB), "after.txt": SSN.encode()})


def parquet_bomb(rows: int = 4_000_000) -> bytes:
    """A column of zeros, plainly encoded then zstd-compressed: the row group's pages inflate
    to 32 MB from a few KB."""
    return docgen_extra.parquet(
        {"n": [0] * rows}, row_group_size=rows, use_dictionary=False, compression="zstd"
    )


def parquet_dictionary_bomb(rows: int = 20_000) -> bytes:
    """One 1 MiB string used by every row: ~50 KB of Parquet (a dictionary page and run-length
    indices) that decodes to 20 GB if each row gets its own copy."""
    import pyarrow as pa

    column = pa.DictionaryArray.from_arrays(pa.array([0] * rows, pa.int32()), pa.array(["x" * MiB]))
    return docgen_extra.parquet({"note": column}, row_group_size=rows)


def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def build(dest: Path) -> dict[str, str]:
    """Write the corpus into ``dest``; name -> "limited" or "readable"."""
    dest.mkdir(parents=True, exist_ok=True)
    pdf = docgen.pdf([["page one", f"SSN {SSN}"]] * 3)
    docx = docgen.docx([f"SSN {SSN}"] * 200)
    xlsx = docgen.xlsx({"S": [["ssn"]] + [[SSN]] * 500})
    parquet = docgen_extra.parquet({"id": list(range(5000)), "ssn": [SSN] * 5000})
    xls = docgen_extra.xls({"S": [["ssn"]] + [[SSN]] * 500})
    msg = docgen_extra.msg("s", f"SSN {SSN}\n" * 500, attachments=[("a.xlsx", xlsx)])
    files: dict[str, tuple[bytes, str]] = {
        "zip-bomb-nested.zip": (zip_bomb_nested(), "limited"),
        "zip-bomb-overlapping.zip": (zip_bomb_overlapping(), "limited"),
        "gzip-bomb.txt.gz": (gzip.compress(bytes(256 * MiB), 9), "limited"),
        "nested-20.zip": (nested_archive(20), "limited"),
        "billion-laughs.xml": (billion_laughs(), "limited"),
        "external-entity.xml": (external_entity(), "limited"),
        "pdf-truncated.pdf": (truncated(pdf), "limited"),
        "pdf-garbage.pdf": (b"%PDF-1.7\n" + bytes(range(256)) * 64, "limited"),
        "pdf-no-xref.pdf": (pdf.split(b"xref")[0], "limited"),
        "docx-truncated.docx": (truncated(docx), "limited"),
        "xlsx-truncated.xlsx": (truncated(xlsx), "limited"),
        "xls-truncated.xls": (truncated(xls), "limited"),
        "msg-truncated.msg": (truncated(msg), "limited"),
        "csv-million-columns.csv": (b",".join([b"1"] * 1_000_001) + b"\n", "limited"),
        "json-100k-deep.json": (b"[" * 100_000 + b"]" * 100_000, "limited"),
        "7z-bomb.7z": (sevenzip_bomb(), "limited"),
        "parquet-truncated.parquet": (truncated(parquet), "limited"),
        "parquet-bomb.parquet": (parquet_bomb(), "limited"),
        "parquet-dictionary-bomb.parquet": (parquet_dictionary_bomb(), "limited"),
        "tar-20k-members.tar": (
            docgen.tar_of({f"f{i}.txt": b"x" for i in range(20_000)}),
            "limited",
        ),
        "invalid-utf8.txt": (b"\xfa\xff\xfe caf\xe9 \xc3( " + f"ssn {SSN}\n".encode(), "readable"),
        "utf16-no-bom.txt": (f"header line\nssn {SSN}\n".encode("utf-16-le"), "readable"),
    }
    for name, (data, _) in files.items():
        (dest / name).write_bytes(data)
    return {name: kind for name, (_, kind) in files.items()}


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "hostile-corpus")
    for name, kind in build(target).items():
        print(f"{kind:9} {(target / name).stat().st_size:>12,}  {name}")
