"""Master key, wrapped data keys, rotation, escrow shares."""

from __future__ import annotations

import base64
import hashlib
import io
import multiprocessing
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from archive_core.crypto import DecryptionError, decrypt_stream, encrypt_stream, object_aad
from archive_core.keys import (
    MASTER_KEY_ENV,
    WRAPPED_KEY_BYTES,
    FileMasterKey,
    MasterKeyError,
    MasterKeyProvider,
    UnwrapError,
    WrongMasterKeyError,
    join_key,
    key_id_of,
    load_master_key,
    new_data_key,
    rotate_master,
    split_key,
    wrapped_key_id,
)
from archive_core.settings import Settings

ENV_KEY = bytes(range(100, 132))


@pytest.fixture(autouse=True)
def no_master_key_in_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(MASTER_KEY_ENV, raising=False)
    yield


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- data keys and wrapping -----------------------------------------------------------


def test_new_data_keys_are_random_256_bit() -> None:
    keys = {new_data_key() for _ in range(100)}
    assert len(keys) == 100
    assert all(len(key) == 32 for key in keys)


def test_wrap_round_trip_and_format() -> None:
    master = FileMasterKey.from_key(bytes(32))
    data_key = new_data_key()
    wrapped = master.wrap(data_key)
    assert len(wrapped) == WRAPPED_KEY_BYTES == 72
    assert wrapped[:4] == b"EDK1"
    assert wrapped_key_id(wrapped) == master.key_id
    assert data_key not in wrapped
    assert master.wrap(data_key) != wrapped  # random nonce
    assert master.unwrap(wrapped) == data_key
    assert isinstance(master, MasterKeyProvider)


def test_wrong_master_key_refuses() -> None:
    first, second = FileMasterKey.from_key(bytes(32)), FileMasterKey.from_key(bytes([1]) * 32)
    wrapped = first.wrap(new_data_key())
    with pytest.raises(WrongMasterKeyError) as raised:
        second.unwrap(wrapped)
    assert raised.value.wrapped_by == first.key_id
    assert raised.value.loaded == second.key_id


def test_forged_key_id_still_fails_authentication() -> None:
    first, second = FileMasterKey.from_key(bytes(32)), FileMasterKey.from_key(bytes([1]) * 32)
    wrapped = bytearray(first.wrap(new_data_key()))
    wrapped[4:12] = bytes.fromhex(second.key_id)
    with pytest.raises(UnwrapError, match="failed authentication"):
        second.unwrap(bytes(wrapped))


@pytest.mark.parametrize("position", [0, 5, 13, 30, 60, 71])
def test_any_bit_flip_in_a_wrapped_key_refuses(position: int) -> None:
    master = FileMasterKey.from_key(bytes(32))
    wrapped = bytearray(master.wrap(new_data_key()))
    wrapped[position] ^= 0x80
    with pytest.raises(UnwrapError):
        master.unwrap(bytes(wrapped))


@pytest.mark.parametrize("blob", [b"", b"EDK1" + bytes(67), b"EDK1" + bytes(69), b"XXXX" + bytes(68)])
def test_malformed_wrapped_keys_refuse(blob: bytes) -> None:
    with pytest.raises(UnwrapError):
        FileMasterKey.from_key(bytes(32)).unwrap(blob)


def test_wrap_refuses_keys_of_the_wrong_size() -> None:
    with pytest.raises(ValueError):
        FileMasterKey.from_key(bytes(32)).wrap(bytes(16))
    with pytest.raises(MasterKeyError):
        FileMasterKey.from_key(bytes(16))


def test_key_id_names_the_key_without_revealing_it() -> None:
    key = bytes(range(32))
    master = FileMasterKey.from_key(key)
    assert master.key_id == hashlib.sha256(key).hexdigest()[:16] == key_id_of(key)
    shown = repr(master)
    assert master.key_id in shown
    assert key.hex() not in shown and base64.b64encode(key).decode() not in shown


# --- the key file -----------------------------------------------------------------------


def test_key_file_is_created_private_and_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "home" / "keys" / "master.key"
    created = FileMasterKey(path)
    assert path.stat().st_size == 32
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    assert created.key_id == hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    assert [entry.name for entry in path.parent.iterdir()] == ["master.key"]  # no temporary left
    reloaded = FileMasterKey(path)
    assert reloaded.key_id == created.key_id
    assert reloaded.unwrap(created.wrap(bytes(32))) == bytes(32)


def test_existing_key_file_is_never_replaced(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    path.write_bytes(bytes(range(32)))
    path.chmod(0o600)
    assert FileMasterKey(path).key_id == key_id_of(bytes(range(32)))
    assert path.read_bytes() == bytes(range(32))


def test_absent_key_file_without_create_refuses(tmp_path: Path) -> None:
    with pytest.raises(MasterKeyError, match="absent"):
        FileMasterKey(tmp_path / "missing.key", create=False)
    assert not (tmp_path / "missing.key").exists()


def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    FileMasterKey(path)
    path.chmod(0o640)
    with pytest.raises(MasterKeyError, match="chmod 600"):
        FileMasterKey(path)


def test_key_file_in_base64_text_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    path.write_text(base64.b64encode(ENV_KEY).decode() + "\n")
    path.chmod(0o600)
    assert FileMasterKey(path).key_id == key_id_of(ENV_KEY)


@pytest.mark.parametrize("content", [b"short", bytes(33), b"not base64 at all!!", "é".encode() * 20])
def test_malformed_key_file_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "master.key"
    path.write_bytes(content)
    path.chmod(0o600)
    with pytest.raises(MasterKeyError):
        FileMasterKey(path)


def create_and_report(path: str, start: Any, queue: Any) -> None:
    start.wait(30)
    queue.put(FileMasterKey(Path(path)).key_id)


def test_concurrent_creation_ends_with_one_key(tmp_path: Path) -> None:
    """Processes racing to create the key all end up with the one key that won (never a replaced key)."""
    path = tmp_path / "keys" / "master.key"
    context = multiprocessing.get_context("spawn")
    start, queue = context.Event(), context.Queue()
    workers = [context.Process(target=create_and_report, args=(str(path), start, queue)) for _ in range(4)]
    for worker in workers:
        worker.start()
    start.set()
    key_ids = {queue.get(timeout=60) for _ in workers}
    for worker in workers:
        worker.join(10)
    assert key_ids == {key_id_of(path.read_bytes())}
    assert [entry.name for entry in path.parent.iterdir()] == ["master.key"]


# --- environment variable -----------------------------------------------------------------


def test_environment_variable_takes_precedence(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "master.key"
    FileMasterKey(path)
    environ = {MASTER_KEY_ENV: base64.b64encode(ENV_KEY).decode()}
    master = FileMasterKey(path, environ=environ)
    assert master.key_id == key_id_of(ENV_KEY) != key_id_of(path.read_bytes())
    assert master.source == MASTER_KEY_ENV


def test_environment_variable_means_no_key_file_is_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MASTER_KEY_ENV, base64.b64encode(ENV_KEY).decode())
    settings = Settings(home=tmp_path / "home")
    assert load_master_key(settings).key_id == key_id_of(ENV_KEY)
    assert not settings.master_key_file.exists()


@pytest.mark.parametrize("value", ["@@@", base64.b64encode(bytes(16)).decode()])
def test_bad_environment_variable_is_refused_not_ignored(tmp_path: Path, value: str) -> None:
    with pytest.raises(MasterKeyError, match=MASTER_KEY_ENV):
        FileMasterKey(tmp_path / "master.key", environ={MASTER_KEY_ENV: value})
    assert not (tmp_path / "master.key").exists()


def test_load_master_key_uses_the_settings_path(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    master = load_master_key(settings)
    assert settings.master_key_file == tmp_path / "home" / "keys" / "master.key"
    assert master.key_id == key_id_of(settings.master_key_file.read_bytes())
    assert mode(settings.master_key_file) == 0o600


# --- rotation ------------------------------------------------------------------------------


def test_rotation_rewraps_every_key_and_is_resumable() -> None:
    old, new = FileMasterKey.from_key(bytes(32)), FileMasterKey.from_key(bytes([7]) * 32)
    data_keys = {f"dossier-{n}": new_data_key() for n in range(5)}
    wrapped = {name: old.wrap(key) for name, key in data_keys.items()}
    rotated = rotate_master(old, new, wrapped)
    assert rotated.keys() == wrapped.keys()
    assert {name: new.unwrap(blob) for name, blob in rotated.items()} == data_keys
    assert all(wrapped_key_id(blob) == new.key_id for blob in rotated.values())
    with pytest.raises(WrongMasterKeyError):
        old.unwrap(rotated["dossier-0"])
    half_done = {**wrapped, "dossier-1": rotated["dossier-1"]}
    resumed = rotate_master(old, new, half_done)
    assert resumed["dossier-1"] == rotated["dossier-1"]
    assert {name: new.unwrap(blob) for name, blob in resumed.items()} == data_keys


def test_rotation_refuses_keys_neither_master_opens() -> None:
    old, new = FileMasterKey.from_key(bytes(32)), FileMasterKey.from_key(bytes([7]) * 32)
    stranger = FileMasterKey.from_key(bytes([9]) * 32)
    with pytest.raises(UnwrapError):
        rotate_master(old, new, {"a": old.wrap(new_data_key()), "b": stranger.wrap(new_data_key())})


def test_rotation_does_not_touch_encrypted_objects() -> None:
    old, new = FileMasterKey.from_key(bytes(32)), FileMasterKey.from_key(bytes([7]) * 32)
    data_key = new_data_key()
    aad = object_aad("aip-1", "data/a.pdf")
    sealed = b"".join(encrypt_stream(io.BytesIO(b"noi dung"), data_key, aad=aad))
    rotated = rotate_master(old, new, {"d": old.wrap(data_key)})["d"]
    assert b"".join(decrypt_stream(io.BytesIO(sealed), new.unwrap(rotated), aad=aad)) == b"noi dung"


def test_without_the_data_key_an_object_is_unreadable() -> None:
    """Crypto-shredding: with the wrapped key gone, neither the master key nor any other key opens the object."""
    master = FileMasterKey.from_key(bytes(32))
    aad = object_aad("aip-1", "data/a.pdf")
    sealed = b"".join(encrypt_stream(io.BytesIO(b"x" * 5000), new_data_key(), aad=aad))
    for key in (new_data_key(), bytes(32), master.unwrap(master.wrap(new_data_key()))):
        with pytest.raises(DecryptionError):
            b"".join(decrypt_stream(io.BytesIO(sealed), key, aad=aad))


# --- escrow shares ----------------------------------------------------------------------


@pytest.mark.parametrize("count", [2, 3, 5])
def test_split_and_join_in_any_order(count: int) -> None:
    key = bytes(range(32))
    shares = split_key(key, count)
    assert len(shares) == count
    assert all(share.startswith(f"earchive-mk1:{key_id_of(key)}:") for share in shares)
    assert all(base64.b64encode(key).decode() not in share for share in shares)
    assert join_key(list(reversed(shares))) == key
    assert join_key([f"  {share}\n" for share in shares]) == key


def test_join_refuses_incomplete_mistyped_or_mixed_shares() -> None:
    key = bytes(range(32))
    shares = split_key(key, 3)
    with pytest.raises(MasterKeyError):
        join_key(shares[:2])
    with pytest.raises(MasterKeyError):
        join_key([shares[0], shares[0], shares[2]])
    mistyped = shares[1][:-6] + ("A" if shares[1][-6] != "A" else "B") + shares[1][-5:]
    with pytest.raises(MasterKeyError):
        join_key([shares[0], mistyped, shares[2]])
    with pytest.raises(MasterKeyError):
        join_key([*split_key(key, 3)[:2], shares[2]])
    with pytest.raises(MasterKeyError):
        join_key(["garbage", *shares[1:]])


def test_backup_shares_rebuild_the_loaded_master(tmp_path: Path) -> None:
    master = FileMasterKey(tmp_path / "master.key")
    restored = FileMasterKey.from_key(join_key(master.backup_shares(2)))
    assert restored.key_id == master.key_id
    assert restored.unwrap(master.wrap(bytes(32))) == bytes(32)
