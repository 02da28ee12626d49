// The ELF64 symbol reader: address to file offset conversion on a synthetic image, agreement with nm, and fuzzing.
using System.Buffers.Binary;
using System.Globalization;
using BpfLifecycle.TestKit;

namespace BpfLifecycle.Interop.Tests.Links;

public sealed class ElfSymbolsTests
{
    [Fact]
    public void Function_address_is_converted_to_its_file_offset_through_the_load_segment()
    {
        var image = BuildElf(segmentVaddr: 0x400000, segmentOffset: 0x1000, segmentSize: 0x100, ("probe_me", 0x400010, 2), ("data_obj", 0x400020, 1));
        var functions = ElfSymbols.ReadFunctions(image);
        var f = Assert.Single(functions);
        Assert.Equal("probe_me", f.Name);
        Assert.Equal(0x400010UL, f.Value);
        Assert.Equal(0x1010UL, f.FileOffset);
    }

    [Fact]
    public void Symbol_outside_every_segment_has_no_file_offset()
    {
        var image = BuildElf(segmentVaddr: 0x400000, segmentOffset: 0x1000, segmentSize: 0x10, ("far_away", 0x500000, 2));
        Assert.Null(Assert.Single(ElfSymbols.ReadFunctions(image)).FileOffset);
    }

    [Fact]
    public void Not_an_elf_file_is_named()
    {
        var ex = Assert.Throws<InvalidDataException>(() => ElfSymbols.ReadFunctions("#!/bin/sh\n echo hello, this is a script"u8, "script.sh"));
        Assert.Contains("'script.sh' is not an ELF file", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Truncated_and_corrupted_images_fail_only_with_InvalidDataException()
    {
        var image = BuildElf(0x400000, 0x1000, 0x100, ("a", 0x400010, 2), ("b", 0x400030, 2));
        for (var length = 0; length < image.Length; length += 7)
        {
            AssertParsesOrRejects(image.AsSpan(0, length));
        }

        var random = new Random(1234);
        for (var round = 0; round < 2000; round++)
        {
            var copy = (byte[])image.Clone();
            for (var flips = random.Next(1, 6); flips > 0; flips--)
            {
                copy[random.Next(copy.Length)] = (byte)random.Next(256);
            }

            AssertParsesOrRejects(copy);
        }
    }

    [Fact]
    public async Task Getpid_in_libc_dynsym_agrees_with_nm()
    {
        KernelTest.RequireTool("nm");
        var libc = File.ReadLines("/proc/self/maps").Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Where(p => p.Length >= 6 && Path.GetFileName(p[5]).StartsWith("libc.so", StringComparison.Ordinal)).Select(p => p[5]).First();
        var (code, output) = await Tool.RunAsync("nm", ["-D", "--defined-only", libc], TestContext.Current.CancellationToken);
        Assert.Equal(0, code);
        var nmGetpid = output.Split('\n').Select(l => l.Split(' ')).First(p => p.Length == 3 && p[2].Split('@')[0] == "getpid" && p[1] is "T" or "W");
        var getpid = ElfSymbols.ReadFunctions(libc).First(f => f.Name == "getpid");
        Assert.Equal(ulong.Parse(nmGetpid[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture), getpid.Value);
        Assert.Equal(getpid.FileOffset, ElfSymbols.FindFunctionOffset(libc, "getpid"));
        Assert.True(getpid.FileOffset < (ulong)new FileInfo(libc).Length);
    }

    private static void AssertParsesOrRejects(ReadOnlySpan<byte> image)
    {
        try
        {
            ElfSymbols.ReadFunctions(image);
        }
        catch (InvalidDataException)
        {
        }
    }

    /// <summary>A minimal ELF64 image: one PT_LOAD, a .symtab and its .strtab; symbols are (name, value, type).</summary>
    private static byte[] BuildElf(ulong segmentVaddr, ulong segmentOffset, ulong segmentSize, params (string Name, ulong Value, byte Type)[] symbols)
    {
        var strtab = new List<byte> { 0 };
        var symtab = new byte[24 * (symbols.Length + 1)];
        for (var i = 0; i < symbols.Length; i++)
        {
            var entry = symtab.AsSpan(24 * (i + 1), 24);
            BinaryPrimitives.WriteUInt32LittleEndian(entry, (uint)strtab.Count);
            strtab.AddRange(System.Text.Encoding.ASCII.GetBytes(symbols[i].Name));
            strtab.Add(0);
            entry[4] = (byte)(0x10 | symbols[i].Type);                     // STB_GLOBAL
            BinaryPrimitives.WriteUInt16LittleEndian(entry[6..], 1);        // defined in section 1
            BinaryPrimitives.WriteUInt64LittleEndian(entry[8..], symbols[i].Value);
            BinaryPrimitives.WriteUInt64LittleEndian(entry[16..], 8);
        }

        const int phoff = 64;
        var symOff = phoff + 56;
        var strOff = symOff + symtab.Length;
        var shoff = (strOff + strtab.Count + 7) & ~7;
        var image = new byte[shoff + (3 * 64)];
        "\u007fELF"u8.CopyTo(image);
        image[4] = 2;
        image[5] = 1;
        image[6] = 1;
        BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan(32), phoff);
        BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan(40), (ulong)shoff);
        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(54), 56);
        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(56), 1);
        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(58), 64);
        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(60), 3);
        var ph = image.AsSpan(phoff, 56);
        BinaryPrimitives.WriteUInt32LittleEndian(ph, 1);                    // PT_LOAD
        BinaryPrimitives.WriteUInt64LittleEndian(ph[8..], segmentOffset);
        BinaryPrimitives.WriteUInt64LittleEndian(ph[16..], segmentVaddr);
        BinaryPrimitives.WriteUInt64LittleEndian(ph[32..], segmentSize);
        symtab.CopyTo(image, symOff);
        strtab.ToArray().CopyTo(image, strOff);
        var symSh = image.AsSpan(shoff + 64, 64);
        BinaryPrimitives.WriteUInt32LittleEndian(symSh[4..], 2);            // SHT_SYMTAB
        BinaryPrimitives.WriteUInt64LittleEndian(symSh[24..], (ulong)symOff);
        BinaryPrimitives.WriteUInt64LittleEndian(symSh[32..], (ulong)symtab.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(symSh[40..], 2);           // sh_link: .strtab
        BinaryPrimitives.WriteUInt64LittleEndian(symSh[56..], 24);
        var strSh = image.AsSpan(shoff + 128, 64);
        BinaryPrimitives.WriteUInt32LittleEndian(strSh[4..], 3);            // SHT_STRTAB
        BinaryPrimitives.WriteUInt64LittleEndian(strSh[24..], (ulong)strOff);
        BinaryPrimitives.WriteUInt64LittleEndian(strSh[32..], (ulong)strtab.Count);
        return image;
    }
}
