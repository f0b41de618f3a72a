"""The file readers under fuzzing: IDX (plain and gzipped), CIFAR-10 batches and archive,
checkpoints.

A few thousand seeded cases from ``fuzz.readers`` (benchmarks/fuzz_readers.py runs 100,000 and
more), every truncation of a small valid file of each kind, a few Hypothesis properties on
arbitrary bytes, and one regression test for each reader bug the fuzzing found. The contract:
a valid file reads back exactly; anything else raises ValueError naming the file, quickly and
without allocating what a header claims.
"""

from __future__ import annotations

import gzip
import io
import json
import struct
import tarfile
import time
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lenet
from lenet.data import DatasetError, cifar, idx
from lenet.data import settings as data_settings
from lenet.engine import lenet5 as M
from lenet.run import archive
from lenet.run import checkpoint as C

from fuzz import readers as F

#: seeded cases per kind in the test suite (the benchmark script runs many more)
CASES = {"idx": 1500, "gzip": 1200, "cifar": 800, "checkpoint": 400}


def _run_all(cases, folder) -> tuple[dict, list[str]]:
    counts = {"ok": 0, "refused": 0, "fail": 0}
    failures = []
    for tag, case in cases:
        outcome = F.run_case(case, folder)
        counts[outcome.status] += 1
        if outcome.status == "fail":
            failures.append(f"{case.kind} {tag} [{case.label}]: {outcome.detail}")
    return counts, failures


@pytest.mark.parametrize("kind", F.KINDS)
def test_seeded_fuzz_cases(tmp_path, kind):
    cases = ((f"case {n}", F.make_case(kind, 20240501, n)) for n in range(CASES[kind]))
    cases = ((tag, c) for tag, c in cases if c.label != "bomb-real-limit")  # tested below
    counts, failures = _run_all(cases, tmp_path)
    assert not failures, "\n".join(failures[:20])
    # the generators reach both sides of the contract
    assert counts["ok"] > CASES[kind] // 10 and counts["refused"] > CASES[kind] // 3, counts
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kind", F.KINDS)
def test_every_truncation_of_a_small_valid_file(tmp_path, kind):
    cases = [(f"truncation {i}", c) for i, c in enumerate(F.truncations(kind, thorough=False))]
    counts, failures = _run_all(cases, tmp_path)
    assert not failures, "\n".join(failures[:20])
    assert counts["ok"] >= 1 and counts["refused"] >= len(cases) // 2


def test_cases_are_reproducible():
    for kind in F.KINDS:
        a, b = F.make_case(kind, 7, 123), F.make_case(kind, 7, 123)
        assert (a.label, a.data, a.expect) == (b.label, b.data, b.expect)
        assert F.make_case(kind, 8, 123).data != a.data or kind == "checkpoint"


def test_settings_are_restored(tmp_path):
    before = (
        data_settings.MAX_IDX_BYTES,
        data_settings.MAX_DOWNLOAD_BYTES,
        data_settings.CIFAR10_RECORDS_PER_FILE,
        dict(data_settings.MD5),
    )
    with F.reader_settings():
        F._apply(F.make_case("gzip", 0, 0))
        assert data_settings.MAX_IDX_BYTES == F.FUZZ_IDX_LIMIT
    assert (
        data_settings.MAX_IDX_BYTES,
        data_settings.MAX_DOWNLOAD_BYTES,
        data_settings.CIFAR10_RECORDS_PER_FILE,
        data_settings.MD5,
    ) == before
    for kind in F.KINDS:
        F.run_case(F.make_case(kind, 0, 1), tmp_path)
    assert (
        data_settings.MAX_IDX_BYTES,
        data_settings.MAX_DOWNLOAD_BYTES,
        data_settings.CIFAR10_RECORDS_PER_FILE,
        data_settings.MD5,
    ) == before


# ------------------------------------------------------------------------------------------
# Hypothesis: arbitrary bytes
# ------------------------------------------------------------------------------------------


def _judge(case, folder):
    outcome = F.run_case(case, folder)
    assert outcome.status != "fail", outcome.detail


@settings(max_examples=300)
@given(data=st.binary(max_size=200), gz=st.booleans(), header=st.booleans())
def test_idx_reader_on_arbitrary_bytes(tmp_path_factory, data, gz, header):
    folder = tmp_path_factory.mktemp("idx")
    if header:  # past the magic number more often
        data = b"\x00\x00\x08" + data
    name = "x-idx1-ubyte.gz" if gz else "x-idx1-ubyte"
    if gz and data[:2] != b"\x1f\x8b":
        data = gzip.compress(data)
    _judge(
        F.Case(
            "gzip" if gz else "idx",
            "hypothesis",
            name,
            data,
            *F._idx_expect(data, name, F.FUZZ_IDX_LIMIT),
        ),
        folder,
    )


@settings(max_examples=200)
@given(data=st.binary(max_size=400))
def test_checkpoint_reader_on_arbitrary_bytes(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("ckpt")
    _judge(
        F.Case("checkpoint", "hypothesis", "checkpoint.npz", b"PK\x03\x04" + data, "refuse"), folder
    )


@settings(max_examples=100)
@given(st.data())
def test_checkpoint_reader_on_edited_checkpoints(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("ckpt")
    base = F.base_checkpoints()[data.draw(st.integers(0, len(F.base_checkpoints()) - 1))]
    good = F.npz_bytes(base.arrays)
    at = data.draw(st.integers(0, len(good) - 1))
    new = data.draw(st.binary(min_size=1, max_size=8))
    edited = good[:at] + new + good[at + len(new) :]
    _judge(
        F.Case(
            "checkpoint",
            "hypothesis",
            "checkpoint.npz",
            edited,
            "either",
            F._expected_checkpoint(base.arrays),
        ),
        folder,
    )


# ------------------------------------------------------------------------------------------
# Regressions: IDX and gzip
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
def test_empty_idx_whose_other_dimensions_overflow_is_refused(tmp_path, gz):
    # 0 x (2**32-1)**3: no data, but NumPy cannot shape even an empty array so (the reader
    # raised NumPy's "array is too big" ValueError, which did not name the file)
    data = bytes([0, 0, 8, 4]) + struct.pack(">4I", 0, 2**32 - 1, 2**32 - 1, 2**32 - 1)
    path = tmp_path / ("x-idx4-ubyte.gz" if gz else "x-idx4-ubyte")
    path.write_bytes(gzip.compress(data) if gz else data)
    with pytest.raises(DatasetError, match="describe no array") as info:
        idx.read_idx(path)
    assert str(path) in str(info.value)
    # empty arrays with sensible dimensions still read
    data = bytes([0, 0, 8, 3]) + struct.pack(">3I", 0, 28, 28)
    path.write_bytes(gzip.compress(data) if gz else data)
    assert idx.read_idx(path).shape == (0, 28, 28)


def test_many_gzip_members_take_linear_time(tmp_path):
    # each member's leftover input used to be copied whole: 1 MB of empty members took 2 s,
    # 256 MB would have taken hours
    empty = gzip.compress(b"", mtime=0)
    payload = bytes([0, 0, 8, 1]) + struct.pack(">I", 3) + b"abc"
    path = tmp_path / "x-idx1-ubyte.gz"
    path.write_bytes(empty * 9_999 + gzip.compress(payload))  # 10,000 members: fine
    start = time.perf_counter()
    assert idx.read_idx(path).tobytes() == b"abc"
    path.write_bytes(empty * 100_000 + gzip.compress(payload))  # 2 MB of members
    with pytest.raises(DatasetError, match="more than 10000 gzip members") as info:
        idx.read_idx(path)
    assert str(path) in str(info.value)
    assert time.perf_counter() - start < 2.0


def test_large_gzip_member_after_many_small_ones(tmp_path, rng):
    arr = rng.integers(0, 256, (300, 28, 28), dtype=np.uint8)
    data = F.idx_encode(0x08, arr)
    pieces = [data[i : i + 97] for i in range(0, 97 * 51, 97)] + [data[97 * 51 :]]
    path = tmp_path / "x-idx3-ubyte.gz"
    path.write_bytes(b"".join(gzip.compress(p, mtime=0) for p in pieces) + bytes(100))
    np.testing.assert_array_equal(idx.read_idx(path), arr)
    path.write_bytes(gzip.compress(data) + bytes(100) + gzip.compress(b""))
    with pytest.raises(DatasetError, match="zero padding"):
        idx.read_idx(path)


def test_gzip_bomb_at_the_real_limit_is_refused(tmp_path):
    path = tmp_path / "bomb-idx1-ubyte.gz"
    path.write_bytes(F.zeros_gzip(data_settings.MAX_IDX_BYTES + 1))
    start = time.perf_counter()
    with pytest.raises(DatasetError, match=f"more than {data_settings.MAX_IDX_BYTES} bytes"):
        idx.read_idx(path)
    assert time.perf_counter() - start < 10


# ------------------------------------------------------------------------------------------
# Regressions: CIFAR-10 archive
# ------------------------------------------------------------------------------------------


def _archive(tmp_path, extra: list, before: bytes = b"") -> object:
    members, _ = F._archive_members(np.random.default_rng(0))
    path = tmp_path / cifar.CIFAR10_ARCHIVE
    path.write_bytes(gzip.compress(before + F._tar(extra + members)))
    return path


@pytest.fixture
def small_cifar(monkeypatch):
    monkeypatch.setattr(data_settings, "CIFAR10_RECORDS_PER_FILE", 1)
    monkeypatch.setitem(data_settings.MD5, "cifar-10", {})


def test_cifar_archive_decompression_bomb_is_refused(tmp_path, small_cifar):
    # an unrelated member of zeros was read through to the end, however large
    path = _archive(tmp_path, [("cifar-10-batches-bin/junk.bin", bytes(3 * 2**20))])
    with pytest.raises(DatasetError, match="decompresses to more than") as info:
        cifar._read_cifar_archive(path)
    assert str(path) in str(info.value)


def test_cifar_archive_pax_header_bomb_is_refused(tmp_path, small_cifar):
    # tarfile reads an extended header whole into memory, whatever size it claims
    body = b"%d comment=" % (3 * 2**20) + bytes(3 * 2**20)
    head = tarfile.TarInfo("././@PaxHeader")
    head.type, head.size = tarfile.XHDTYPE, len(body)
    raw = head.tobuf(tarfile.USTAR_FORMAT) + body + bytes(-len(body) % 512)
    path = _archive(tmp_path, [], before=raw)
    with pytest.raises(DatasetError, match="decompresses to more than"):
        cifar._read_cifar_archive(path)


def test_cifar_archive_of_many_gzip_members_is_refused_quickly(tmp_path, small_cifar):
    # gzip.GzipFile took 5 us per member: a 512 MB file of empty members took minutes
    members, _ = F._archive_members(np.random.default_rng(0))
    path = tmp_path / cifar.CIFAR10_ARCHIVE
    path.write_bytes(gzip.compress(b"", mtime=0) * 100_000 + gzip.compress(F._tar(members)))
    start = time.perf_counter()
    with pytest.raises(DatasetError, match="more than 10000 gzip members"):
        cifar._read_cifar_archive(path)
    assert time.perf_counter() - start < 2.0
    path.write_bytes(gzip.compress(b"", mtime=0) * 50 + gzip.compress(F._tar(members)))
    assert sorted(cifar._read_cifar_archive(path)) == sorted(cifar.CIFAR10_FILES)


def test_cifar_archive_larger_than_any_download_is_refused(tmp_path, small_cifar, monkeypatch):
    path = _archive(tmp_path, [])
    monkeypatch.setattr(data_settings, "MAX_DOWNLOAD_BYTES", path.stat().st_size - 1)
    with pytest.raises(DatasetError, match="more than the CIFAR-10 archive"):
        cifar._read_cifar_archive(path)


def test_cifar_archive_limit_leaves_room_for_the_real_archive():
    # the real archive: six batch files of 30,730,000 bytes, a readme and the class names
    real = 6 * 10_000 * cifar.CIFAR10_RECORD_BYTES + 512 * 20 + 10240
    assert data_settings.CIFAR10_RECORDS_PER_FILE == 10_000 and cifar._archive_limit() > real


# ------------------------------------------------------------------------------------------
# Regressions: checkpoints
# ------------------------------------------------------------------------------------------


def _checkpoint(tmp_path, change=None, name="checkpoint.npz", compressed=False):
    arrays = dict(F.base_checkpoints()[0].arrays)  # the paper network, float32
    if change:
        change(arrays)
    path = tmp_path / name
    path.write_bytes(F.npz_bytes(arrays, compressed))
    return path


def _refused(path, *words):
    with pytest.raises(ValueError) as info:
        C.read_checkpoint(path)
    message = str(info.value)
    assert str(path) in message, message
    for w in words:
        assert w in message, message
    return message


@pytest.mark.parametrize("which", [C.META_CONFIG, C.META_PROGRESS])
@pytest.mark.parametrize(
    "text, kind",
    [
        ("[1, 2]", "list"),
        ("3", "int"),
        ('"paper"', "str"),
        ("null", "NoneType"),
        ("true", "bool"),
        ("NaN", "float"),
    ],
)
def test_meta_that_is_json_but_no_object_is_refused(tmp_path, which, text, kind):
    # meta/config as a list, a number, ...: AttributeError ('list' object has no attribute
    # 'get'); meta/progress as one: silently returned, and resume failed later
    path = _checkpoint(tmp_path, lambda a: a.update({which: np.array(text)}))
    _refused(path, which, "must be a JSON object", kind)


@pytest.mark.parametrize("which", [C.META_CONFIG, C.META_PROGRESS])
def test_deeply_nested_meta_is_refused(tmp_path, which):
    # RecursionError from the JSON decoder
    path = _checkpoint(tmp_path, lambda a: a.update({which: np.array("[" * 100_000)}))
    _refused(path, which, "not JSON", "RecursionError")


@pytest.mark.parametrize("value", [np.array(3), np.array(["{}", "{}"]), np.array(b"{}")])
def test_meta_that_is_not_a_text_scalar_is_refused(tmp_path, value):
    path = _checkpoint(tmp_path, lambda a: a.update({C.META_CONFIG: value}))
    _refused(path, "meta/config must be JSON text")


@pytest.mark.parametrize(
    "field, value, words",
    [
        ("model", "lenet7", "model must be one of 'paper', 'modern'"),  # was built as modern
        ("model", None, "model must be one of"),
        ("model", 1, "model must be one of"),
        ("dtype", None, "dtype must be 'float32' or 'float64'"),  # was float64
        ("dtype", ["f8"], "dtype must be"),
        ("dtype", "S1000000000", "dtype must be"),
        ("seed", [1, 2], "seed must be a non-negative integer"),  # was accepted
        ("seed", True, "seed must be"),
        ("seed", None, "seed must be"),
        ("seed", -1, "seed must be"),
        ("init", [], "init must be a string"),
    ],
)
def test_config_naming_no_known_network_is_refused(tmp_path, field, value, words):
    def change(arrays):
        config = json.loads(str(arrays[C.META_CONFIG]))
        arrays[C.META_CONFIG] = np.array(json.dumps({**config, field: value}))

    path = _checkpoint(tmp_path, change)
    _refused(path, "meta/config describes no lenet network", words)


def _modern(tmp_path, **config_changes):
    net = lenet.LeNet5.modern(seed=1)
    path = C.save_checkpoint(tmp_path / "modern.npz", net)
    with np.load(path) as data:
        arrays = dict(data)
    config = json.loads(str(arrays[C.META_CONFIG]))
    arrays[C.META_CONFIG] = np.array(json.dumps({**config, **config_changes}))
    path.write_bytes(F.npz_bytes(arrays))
    return path


@pytest.mark.parametrize("channels", [10**9, 2**63, 10**30])
def test_huge_in_channels_is_refused_before_building(tmp_path, channels):
    # in_channels=10**7 took 73 s (and far more memory) to build a network that did not fit
    path = _modern(tmp_path, in_channels=channels)
    start = time.perf_counter()
    _refused(path, f"in_channels={channels}", "C1.weight of shape (6, 1, 5, 5)")
    assert time.perf_counter() - start < 1


@pytest.mark.parametrize(
    "field, value",
    [
        ("in_channels", 1.0),
        ("in_channels", True),
        ("in_channels", 0),
        ("input_size", 28.0),
        ("input_size", "28"),
        ("input_size", 30),
        ("activation", ["relu"]),
        ("pooling", 3),  # (None is the model's own: a Recipe leaves it so)
    ],
)
def test_modern_config_of_the_wrong_type_is_refused(tmp_path, field, value):
    _refused(_modern(tmp_path, **{field: value}), "describes no lenet network", field)


def test_modern_config_with_another_activation_still_loads(tmp_path):
    net = C.read_checkpoint(_modern(tmp_path, activation="relu"))["net"]
    assert net.C1.activation == "relu"


def test_build_network_still_takes_numpy_dtypes():
    assert M.build_network({"dtype": np.float64}).dtype == np.float64
    assert M.build_network({"model": "modern", "dtype": np.dtype("float32")}).variant == "modern"
    with pytest.raises(ValueError, match="dtype"):
        M.build_network({"dtype": np.int32})


def test_duplicate_members_are_refused(tmp_path):
    # np.load kept the last of two members with one name
    path = tmp_path / "checkpoint.npz"
    good = _checkpoint(tmp_path, name="good.npz")
    with zipfile.ZipFile(good) as z:
        members = [(i.filename, z.read(i)) for i in z.infolist()]
    with pytest.warns(UserWarning, match="Duplicate name"):
        path.write_bytes(F._zip(members + [members[0]]))
    _refused(path, "appears twice")


def test_members_that_are_not_arrays_are_refused(tmp_path):
    # np.load returned the raw bytes of a member without .npy (here the weights of F6)
    good = _checkpoint(tmp_path, name="good.npz")
    with zipfile.ZipFile(good) as z:
        members = [
            (i.filename.replace("F6.weight.npy", "F6.weight"), z.read(i)) for i in z.infolist()
        ]
    path = tmp_path / "checkpoint.npz"
    path.write_bytes(F._zip(members))
    _refused(path, "'F6.weight' is not a .npy array")


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_members_compressed_otherwise_than_npz_are_refused(tmp_path, method):
    # bzip2 and LZMA members are decompressed without a size bound
    good = _checkpoint(tmp_path, name="good.npz")
    with zipfile.ZipFile(good) as z:
        members = [(i.filename, z.read(i)) for i in z.infolist()]
    path = tmp_path / "checkpoint.npz"
    path.write_bytes(F._zip(members, method))
    _refused(path, f"zip method {method}")


def test_npz_compressed_checkpoints_still_load(tmp_path):
    state = C.read_checkpoint(_checkpoint(tmp_path, compressed=True))
    assert state["net"].dtype == np.float32 and state["progress"]["epoch"] == 0


@pytest.mark.parametrize("shape", [(10**12,), (2**62,), (1, 2**62, 2**62), (-5,)])
def test_npy_headers_claiming_huge_shapes_are_refused_before_allocating(tmp_path, shape):
    good = _checkpoint(tmp_path, name="good.npz")
    header = {"descr": "<f8", "fortran_order": False, "shape": shape}
    with zipfile.ZipFile(good) as z:
        members = [
            (i.filename, z.read(i) if i.filename != "F6.bias.npy" else F._npy(np.zeros(3), header))
            for i in z.infolist()
        ]
    path = tmp_path / "checkpoint.npz"
    path.write_bytes(F._zip(members))
    _refused(path, "'F6.bias'")


def test_deflate_bomb_members_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(archive, "MAX_CHECKPOINT_BYTES", 2**20)
    path = tmp_path / "checkpoint.npz"
    path.write_bytes(
        F._zip([("C1.weight.npy", F._npy(np.zeros(3)) + bytes(2**21))], zipfile.ZIP_DEFLATED)
    )
    _refused(path, f"more than {2**20} bytes")


@pytest.mark.parametrize("key", ["C1.weight", C.META_CONFIG, "optimizer/moment"])
def test_pickled_objects_are_refused_with_a_clear_message(tmp_path, key):
    path = _checkpoint(tmp_path, lambda a: a.update({key: np.array([{"x": 1}], dtype=object)}))
    _refused(path, "pickled objects", repr(key), "allow_pickle=False")


def test_optimizer_state_must_be_numbers(tmp_path):
    path = _checkpoint(tmp_path, lambda a: a.update({"optimizer/lr": np.array("fast")}))
    _refused(path, "optimizer/lr must hold numbers")


def test_a_valid_checkpoint_still_reads_back(tmp_path):
    base = F.base_checkpoints()[3]  # modern, 3 x 32 x 32, float64
    path = tmp_path / "checkpoint.npz"
    path.write_bytes(F.npz_bytes(base.arrays))
    state = C.read_checkpoint(path)
    assert F._compare_checkpoint(state, F._expected_checkpoint(base.arrays)) is None
    assert state["net"].input_shape == (3, 32, 32)


def test_zip_of_other_files_is_refused(tmp_path):
    path = tmp_path / "checkpoint.npz"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("readme.txt", "hello")
    path.write_bytes(buf.getvalue())
    _refused(path, "'readme.txt' is not a .npy array")
