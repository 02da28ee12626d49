// Sealed map values on a real kernel map: ciphertext in the kernel, plaintext through the API, errors for wrong keys and tampering.
using System.Buffers.Binary;
using System.Text;
using BpfLifecycle.Interop;
using BpfLifecycle.Maps.Sealed;
using BpfLifecycle.Observability.Audit;
using BpfLifecycle.TestKit;

namespace BpfLifecycle.Security.Tests;

public sealed class SealedMapTests : KernelTestBase
{
    private const int ValueSize = 48;

    private static byte[] Key(ulong k)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, k);
        return b;
    }

    private static byte[] Secret(string s) => Encoding.ASCII.GetBytes(s.PadRight(ValueSize, '\0'));

    [Fact]
    public void Values_are_ciphertext_in_the_kernel_and_plaintext_through_the_map()
    {
        using var keys = InMemorySealingKeyProvider.CreateRandom();
        using var map = SealedMap.Create("creds", BpfMapType.Hash, 8, ValueSize, 16, keys);
        var secret = Secret("password=correct-horse-battery");
        map.Update(Key(1), secret);
        map.Update(Key(2), secret);

        var raw1 = new byte[SealedValue.SealedSize(ValueSize)];
        var raw2 = new byte[SealedValue.SealedSize(ValueSize)];
        Assert.True(Bpf.MapLookup(map.Handle, Key(1), raw1));
        Assert.True(Bpf.MapLookup(map.Handle, Key(2), raw2));
        Assert.Equal(-1, raw1.AsSpan().IndexOf("correct-horse"u8));
        Assert.False(raw1.AsSpan().SequenceEqual(raw2), "same plaintext must seal to different bytes (fresh nonce)");

        var back = new byte[ValueSize];
        Assert.True(map.TryLookup(Key(1), back));
        Assert.Equal(secret, back);
        Assert.False(map.TryLookup(Key(3), back));
        Assert.True(map.Delete(Key(1)));
        Assert.False(map.TryLookup(Key(1), back));
    }

    [Fact]
    public void A_wrong_key_a_tampered_byte_or_a_moved_value_is_an_error_not_garbage()
    {
        using var keys = InMemorySealingKeyProvider.CreateRandom();
        using var map = SealedMap.Create("creds", BpfMapType.Hash, 8, ValueSize, 16, keys);
        map.Update(Key(1), Secret("token-one"));
        map.Update(Key(2), Secret("token-two"));
        var raw = new byte[SealedValue.SealedSize(ValueSize)];
        Bpf.MapLookup(map.Handle, Key(1), raw);
        var plain = new byte[ValueSize];

        // Wrong key under the same id.
        var otherKey = new byte[32];
        otherKey[0] = 1;
        using (var wrong = new InMemorySealingKeyProvider(1, otherKey))
        using (var view = new SealedMap(map.Handle, "creds", 8, ValueSize, wrong))
        {
            var e = Assert.Throws<SealedValueException>(() => view.TryLookup(Key(1), plain));
            Assert.Contains("failed authentication under key 1", e.Message, StringComparison.Ordinal);
            Assert.All(plain, b => Assert.Equal(0, b));
        }

        // Every byte of the sealed value flipped in turn.
        for (var i = 0; i < raw.Length; i++)
        {
            var t = raw.ToArray();
            t[i] ^= 0x01;
            Bpf.MapUpdate(map.Handle, Key(1), t);
            Assert.Throws<SealedValueException>(() => map.TryLookup(Key(1), plain));
        }

        // A valid value copied to another entry, or read as another map.
        Bpf.MapUpdate(map.Handle, Key(1), raw);
        Assert.True(map.TryLookup(Key(1), plain));
        Bpf.MapUpdate(map.Handle, Key(2), raw);
        Assert.Contains("copied from another entry", Assert.Throws<SealedValueException>(() => map.TryLookup(Key(2), plain)).Message, StringComparison.Ordinal);
        using (var renamed = new SealedMap(map.Handle, "other-map", 8, ValueSize, keys))
        {
            Assert.Throws<SealedValueException>(() => renamed.TryLookup(Key(1), plain));
        }

        // Unknown key id and unknown format.
        using (var empty = new InMemorySealingKeyProvider(7, new byte[32]))
        using (var view = new SealedMap(map.Handle, "creds", 8, ValueSize, empty))
        {
            Assert.Contains("sealed under key 1, which the key provider does not have", Assert.Throws<SealedValueException>(() => view.TryLookup(Key(1), plain)).Message, StringComparison.Ordinal);
        }

        Bpf.MapUpdate(map.Handle, Key(1), new byte[raw.Length]);
        Assert.Contains("format version 0", Assert.Throws<SealedValueException>(() => map.TryLookup(Key(1), plain)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rotation_keeps_old_values_readable_and_new_values_use_the_current_key()
    {
        var k1 = new byte[32];
        var k2 = new byte[32];
        k2[31] = 9;
        using var keys = new InMemorySealingKeyProvider(1, k1);
        using var map = SealedMap.Create("rot", BpfMapType.Array, 4, ValueSize, 4, keys);
        var zero = new byte[4];
        var one = new byte[] { 1, 0, 0, 0 };
        map.Update(zero, Secret("old"));
        keys.Add(2, k2, makeCurrent: true);
        map.Update(one, Secret("new"));

        var raw = new byte[SealedValue.SealedSize(ValueSize)];
        Bpf.MapLookup(map.Handle, one, raw);
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(1)));
        var plain = new byte[ValueSize];
        Assert.True(map.TryLookup(zero, plain));
        Assert.Equal(Secret("old"), plain);
        keys.Remove(1);
        Assert.Throws<SealedValueException>(() => map.TryLookup(zero, plain));
        Assert.True(map.TryLookup(one, plain));
    }

    [Fact]
    public void Shape_mismatches_and_bad_key_files_are_named()
    {
        using var keys = InMemorySealingKeyProvider.CreateRandom();
        using var plainMap = Bpf.MapCreate(new BpfMapSpec("plain", BpfMapType.Hash, 8, ValueSize, 4));
        var e = Assert.Throws<ArgumentException>(() => new SealedMap(plainMap, "plain", 8, ValueSize, keys));
        Assert.Contains($"needs value size {ValueSize + SealedValue.Overhead}", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => SealedMap.CreateSpec("x", BpfMapType.RingBuf, 4, 8, 4096));

        var dir = NewTempDirectory();
        Assert.Contains("holds no", Assert.Throws<InvalidOperationException>(() => new DirectorySealingKeyProvider(dir)).Message, StringComparison.Ordinal);
        var keyFile = Path.Combine(dir, "3.key");
        File.WriteAllText(keyFile, Convert.ToBase64String(new byte[32]));
        File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        Assert.Contains("chmod 600", Assert.Throws<InvalidOperationException>(() => new DirectorySealingKeyProvider(dir)).Message, StringComparison.Ordinal);
        File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.WriteAllBytes(Path.Combine(dir, "5.key"), new byte[32]);
        File.SetUnixFileMode(Path.Combine(dir, "5.key"), UnixFileMode.UserRead);
        using var fromDir = new DirectorySealingKeyProvider(dir);
        Assert.Equal(5u, fromDir.CurrentKeyId);
        Assert.True(fromDir.TryGetKey(3, new byte[32]));
        File.WriteAllText(Path.Combine(dir, "6.key"), Convert.ToBase64String(new byte[16]));
        File.SetUnixFileMode(Path.Combine(dir, "6.key"), UnixFileMode.UserRead);
        Assert.Contains("16-byte key", Assert.Throws<InvalidOperationException>(() => new DirectorySealingKeyProvider(dir)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_access_is_audited_with_the_key_hashed()
    {
        var dir = NewTempDirectory();
        var path = Path.Combine(dir, "audit.jsonl");
        using var audit = new FileAuditLog(new FileAuditLogOptions { Path = path });
        using var keys = InMemorySealingKeyProvider.CreateRandom();
        using var map = SealedMap.Create("stash", BpfMapType.Hash, 8, ValueSize, 4, keys);
        using (SensitiveMapAudit.Attach(map, audit, "tls-sniffer"))
        {
            map.Update(Key(0xdeadbeef), Secret("api_token=zzz"));
            map.TryLookup(Key(0xdeadbeef), new byte[ValueSize]);
            map.TryLookup(Key(5), new byte[ValueSize]);
            map.Delete(Key(0xdeadbeef));
        }

        map.Update(Key(1), Secret("unaudited after dispose"));
        var entries = AuditLogVerifier.ReadAll(path);
        Assert.Equal([AuditAction.SensitiveMapWrite, AuditAction.SensitiveMapRead, AuditAction.SensitiveMapRead, AuditAction.SensitiveMapWrite], entries.Select(e => e.Action));
        Assert.All(entries, e => Assert.Equal("stash", e.Map));
        Assert.Equal(SensitiveData.Hash(Key(0xdeadbeef)), entries[0].Sensitive["key"]);
        Assert.Equal("false", entries[2].Details["found"]);
        Assert.Equal("Delete", entries[3].Details["operation"]);
        var text = File.ReadAllText(path);
        Assert.DoesNotContain("zzz", text, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToHexString(Key(0xdeadbeef)), text, StringComparison.OrdinalIgnoreCase);
    }
}
