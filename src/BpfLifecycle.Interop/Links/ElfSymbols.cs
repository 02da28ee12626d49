// A small ELF64 reader that finds a function symbol's file offset, which is what a uprobe is placed at.
using System.Buffers.Binary;
using System.Text;

namespace BpfLifecycle.Interop;

/// <summary>A function or object symbol of an ELF file.</summary>
/// <param name="Name">Symbol name (without version suffix).</param>
/// <param name="Value">Virtual address from the symbol table.</param>
/// <param name="Size">Size in bytes.</param>
/// <param name="FileOffset">Offset of the symbol in the file (what uprobes take), or null when no loadable segment holds it.</param>
public sealed record ElfSymbol(string Name, ulong Value, ulong Size, ulong? FileOffset);

/// <summary>
/// Reads symbols of little-endian ELF64 files (.symtab and .dynsym) and converts their addresses to file offsets through
/// the program headers, as uprobes need.
/// </summary>
public static class ElfSymbols
{
    private const uint SHT_SYMTAB = 2;
    private const uint SHT_DYNSYM = 11;
    private const uint PT_LOAD = 1;
    private const byte STT_FUNC = 2;
    private const byte STT_GNU_IFUNC = 10;

    /// <summary>All defined function symbols of the file at <paramref name="path"/>.</summary>
    public static IReadOnlyList<ElfSymbol> ReadFunctions(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] data;
        try
        {
            data = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"Cannot read ELF file '{path}': {e.Message}", nameof(path), e);
        }

        return ReadFunctions(data, path);
    }

    /// <summary>All defined function symbols of an ELF image; <paramref name="name"/> labels errors.</summary>
    public static IReadOnlyList<ElfSymbol> ReadFunctions(ReadOnlySpan<byte> elf, string name = "ELF image")
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
        {
            throw new InvalidDataException($"'{name}' is not an ELF file.");
        }

        if (elf[4] != 2 || elf[5] != 1)
        {
            throw new InvalidDataException($"'{name}' is not a little-endian 64-bit ELF file (class {elf[4]}, data {elf[5]}).");
        }

        var phoff = U64(elf, 32, name);
        var shoff = U64(elf, 40, name);
        var phentsize = U16(elf, 54, name);
        var phnum = U16(elf, 56, name);
        var shentsize = U16(elf, 58, name);
        var shnum = U16(elf, 60, name);
        if ((phnum > 0 && phentsize < 56) || (shnum > 0 && shentsize < 64))
        {
            throw new InvalidDataException($"'{name}' has malformed header table entry sizes.");
        }

        var segments = new List<(ulong Vaddr, ulong Filesz, ulong Offset)>();
        for (var i = 0; i < phnum; i++)
        {
            var ph = Checked(phoff + ((ulong)i * phentsize), 56, elf, name);
            if (U32(elf, ph, name) == PT_LOAD)
            {
                segments.Add((U64(elf, ph + 16, name), U64(elf, ph + 32, name), U64(elf, ph + 8, name)));
            }
        }

        var result = new List<ElfSymbol>();
        for (var i = 0; i < shnum; i++)
        {
            var sh = Checked(shoff + ((ulong)i * shentsize), 64, elf, name);
            var type = U32(elf, sh + 4, name);
            if (type is not (SHT_SYMTAB or SHT_DYNSYM))
            {
                continue;
            }

            var offset = U64(elf, sh + 24, name);
            var size = U64(elf, sh + 32, name);
            var link = U32(elf, sh + 40, name);
            var entsize = U64(elf, sh + 56, name);
            if (entsize < 24 || link >= shnum)
            {
                throw new InvalidDataException($"'{name}': symbol table section {i} is malformed.");
            }

            var strSh = Checked(shoff + ((ulong)link * shentsize), 64, elf, name);
            var strOff = U64(elf, strSh + 24, name);
            var strSize = U64(elf, strSh + 32, name);
            var strings = elf.Slice(Checked(strOff, strSize, elf, name), (int)strSize);
            Checked(offset, size, elf, name);
            for (ulong s = 0; s + entsize <= size; s += entsize)
            {
                var sym = (int)(offset + s);
                var info = elf[sym + 4];
                var kind = (byte)(info & 0xf);
                var shndx = U16(elf, sym + 6, name);
                var value = U64(elf, sym + 8, name);
                if ((kind != STT_FUNC && kind != STT_GNU_IFUNC) || shndx == 0 || value == 0)
                {
                    continue;
                }

                var nameOff = U32(elf, sym, name);
                if (nameOff >= strings.Length)
                {
                    continue;
                }

                var rest = strings[(int)nameOff..];
                var end = rest.IndexOf((byte)0);
                var symName = Encoding.UTF8.GetString(end < 0 ? rest : rest[..end]);
                var at = symName.IndexOf('@', StringComparison.Ordinal);
                if (at >= 0)
                {
                    symName = symName[..at];
                }

                result.Add(new ElfSymbol(symName, value, U64(elf, sym + 16, name), ToFileOffset(value, segments)));
            }
        }

        return result;
    }

    /// <summary>The file offset of function <paramref name="symbol"/> in the ELF file at <paramref name="path"/>.</summary>
    /// <exception cref="ArgumentException">The file has no such defined function, or it lies outside every loadable segment.</exception>
    public static ulong FindFunctionOffset(string path, string symbol)
    {
        ArgumentException.ThrowIfNullOrEmpty(symbol);
        var functions = ReadFunctions(path);
        foreach (var f in functions)
        {
            if (f.Name == symbol)
            {
                return f.FileOffset ?? throw new ArgumentException($"Symbol '{symbol}' in '{path}' (address 0x{f.Value:x}) is in no loadable segment.", nameof(symbol));
            }
        }

        throw new ArgumentException($"'{path}' defines no function named '{symbol}' ({functions.Count} functions in .symtab/.dynsym).", nameof(symbol));
    }

    private static ulong? ToFileOffset(ulong vaddr, List<(ulong Vaddr, ulong Filesz, ulong Offset)> segments)
    {
        foreach (var (v, size, off) in segments)
        {
            if (vaddr >= v && vaddr < v + size)
            {
                return vaddr - v + off;
            }
        }

        return null;
    }

    private static int Checked(ulong offset, ulong length, ReadOnlySpan<byte> elf, string name)
    {
        if (offset > (ulong)elf.Length || length > (ulong)elf.Length - offset)
        {
            throw new InvalidDataException($"'{name}' is truncated or malformed: {length} bytes at offset {offset} lie beyond its {elf.Length} bytes.");
        }

        return (int)offset;
    }

    private static ushort U16(ReadOnlySpan<byte> elf, int at, string name) => BinaryPrimitives.ReadUInt16LittleEndian(elf.Slice(Checked((ulong)at, 2, elf, name), 2));

    private static uint U32(ReadOnlySpan<byte> elf, int at, string name) => BinaryPrimitives.ReadUInt32LittleEndian(elf.Slice(Checked((ulong)at, 4, elf, name), 4));

    private static ulong U64(ReadOnlySpan<byte> elf, int at, string name) => BinaryPrimitives.ReadUInt64LittleEndian(elf.Slice(Checked((ulong)at, 8, elf, name), 8));
}
