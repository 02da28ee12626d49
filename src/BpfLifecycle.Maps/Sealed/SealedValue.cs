// AES-256-GCM sealing of map values that only user space reads: format, seal and open.
using System.Buffers.Binary;
using System.Security.Cryptography;

namespace BpfLifecycle.Maps.Sealed;

/// <summary>A sealed value could not be opened: wrong key, tampered bytes, or a value from another entry or map.</summary>
public sealed class SealedValueException : CryptographicException
{
    /// <summary>Creates the error.</summary>
    public SealedValueException(string message, Exception? inner = null) : base(message, inner)
    {
    }
}

/// <summary>
/// The sealed value layout: <c>version (1) | key id (4, LE) | nonce (12) | tag (16) | ciphertext (n)</c>.
/// The associated data binds a value to its map name and its key, so a value copied to another entry or map
/// does not open.
/// </summary>
public static class SealedValue
{
    /// <summary>Format version written by this library.</summary>
    public const byte FormatVersion = 1;

    /// <summary>AES-256 key size.</summary>
    public const int KeySize = 32;

    /// <summary>GCM nonce size.</summary>
    public const int NonceSize = 12;

    /// <summary>GCM tag size.</summary>
    public const int TagSize = 16;

    /// <summary>Bytes a sealed value adds to its plaintext.</summary>
    public const int Overhead = 1 + 4 + NonceSize + TagSize;

    private static ReadOnlySpan<byte> Domain => "bpflc-sealed-v1\0"u8;

    /// <summary>The map value size needed for <paramref name="plaintextSize"/> bytes of plaintext.</summary>
    public static int SealedSize(int plaintextSize) => plaintextSize + Overhead;

    /// <summary>Seals <paramref name="plaintext"/> for entry <paramref name="mapKey"/> of map <paramref name="mapName"/> into <paramref name="destination"/>.</summary>
    public static void Seal(ISealingKeyProvider keys, string mapName, ReadOnlySpan<byte> mapKey, ReadOnlySpan<byte> plaintext, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(mapName);
        if (destination.Length != SealedSize(plaintext.Length))
        {
            throw new ArgumentException($"Sealed value buffer is {destination.Length} bytes; {plaintext.Length} bytes of plaintext need {SealedSize(plaintext.Length)}.", nameof(destination));
        }

        var keyId = keys.CurrentKeyId;
        Span<byte> key = stackalloc byte[KeySize];
        if (!keys.TryGetKey(keyId, key))
        {
            throw new SealedValueException($"Map '{mapName}': the key provider has no key {keyId} (its current key).");
        }

        try
        {
            destination[0] = FormatVersion;
            BinaryPrimitives.WriteUInt32LittleEndian(destination[1..], keyId);
            var nonce = destination.Slice(5, NonceSize);
            RandomNumberGenerator.Fill(nonce);
            var tag = destination.Slice(5 + NonceSize, TagSize);
            var cipher = destination[Overhead..];
            using var gcm = new AesGcm(key, TagSize);
            var length = AadLength(mapName, mapKey);
            byte[]? rented = null;
            var aad = length <= 512 ? stackalloc byte[512] : (rented = System.Buffers.ArrayPool<byte>.Shared.Rent(length));
            WriteAad(mapName, mapKey, destination[..5], aad);
            gcm.Encrypt(nonce, plaintext, cipher, tag, aad[..length]);
            if (rented is not null)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(rented);
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>Opens a sealed value into <paramref name="plaintext"/>.</summary>
    /// <exception cref="SealedValueException">Wrong key, tampered or misplaced value, unknown key id or format (the message says which).</exception>
    public static void Open(ISealingKeyProvider keys, string mapName, ReadOnlySpan<byte> mapKey, ReadOnlySpan<byte> sealedValue, Span<byte> plaintext)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(mapName);
        if (sealedValue.Length != SealedSize(plaintext.Length))
        {
            throw new SealedValueException($"Map '{mapName}': sealed value is {sealedValue.Length} bytes, expected {SealedSize(plaintext.Length)} for {plaintext.Length} bytes of plaintext.");
        }

        if (sealedValue[0] != FormatVersion)
        {
            throw new SealedValueException($"Map '{mapName}': sealed value has format version {sealedValue[0]}, expected {FormatVersion} (not a sealed value, or tampered).");
        }

        var keyId = BinaryPrimitives.ReadUInt32LittleEndian(sealedValue[1..]);
        Span<byte> key = stackalloc byte[KeySize];
        if (!keys.TryGetKey(keyId, key))
        {
            throw new SealedValueException($"Map '{mapName}': value is sealed under key {keyId}, which the key provider does not have (removed key, or tampered value).");
        }

        try
        {
            using var gcm = new AesGcm(key, TagSize);
            var nonce = sealedValue.Slice(5, NonceSize);
            var tag = sealedValue.Slice(5 + NonceSize, TagSize);
            var cipher = sealedValue[Overhead..];
            var header = sealedValue[..5];
            var length = AadLength(mapName, mapKey);
            byte[]? rented = null;
            var aad = length <= 512 ? stackalloc byte[512] : (rented = System.Buffers.ArrayPool<byte>.Shared.Rent(length));
            WriteAad(mapName, mapKey, header, aad);
            try
            {
                gcm.Decrypt(nonce, cipher, tag, plaintext, aad[..length]);
            }
            catch (AuthenticationTagMismatchException e)
            {
                CryptographicOperations.ZeroMemory(plaintext);
                throw new SealedValueException($"Map '{mapName}': sealed value failed authentication under key {keyId}: wrong key, tampered bytes, or a value copied from another entry or map.", e);
            }
            finally
            {
                if (rented is not null)
                {
                    System.Buffers.ArrayPool<byte>.Shared.Return(rented);
                }
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    private static int AadLength(string mapName, ReadOnlySpan<byte> mapKey)
        => Domain.Length + 5 + 4 + System.Text.Encoding.UTF8.GetByteCount(mapName) + mapKey.Length;

    private static void WriteAad(string mapName, ReadOnlySpan<byte> mapKey, ReadOnlySpan<byte> header, Span<byte> w)
    {
        Domain.CopyTo(w);
        w = w[Domain.Length..];
        header.CopyTo(w);
        w = w[header.Length..];
        var nameLength = System.Text.Encoding.UTF8.GetBytes(mapName, w[4..]);
        BinaryPrimitives.WriteInt32LittleEndian(w, nameLength);
        w = w[(4 + nameLength)..];
        mapKey.CopyTo(w);
    }
}
