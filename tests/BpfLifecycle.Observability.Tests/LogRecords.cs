// Builds struct bpflc_log_record bytes the way bpf_lifecycle.h's BPFLC_LOG writes them, for parser and forwarder tests.
using System.Buffers.Binary;
using System.Text;
using BpfLifecycle.Observability.Abi;

namespace BpfLifecycle.Observability.Tests;

internal static class LogRecords
{
    public static byte[] Build(BpfLcLogLevel level, string message, ulong versionId = 7, uint pid = 42, uint cpu = 1, ulong meta0 = 100, ulong meta1 = 200, ulong ts = 123456789, int? msgLenOverride = null, int totalSize = BpfLcAbi.LogHeaderSize + BpfLcAbi.LogMessageMax)
    {
        var b = new byte[totalSize];
        BinaryPrimitives.WriteUInt32LittleEndian(b, BpfLcAbi.LogMagic);
        b[4] = (byte)level;
        var msg = Encoding.UTF8.GetBytes(message);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(6), (ushort)(msgLenOverride ?? msg.Length));
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(8), ts);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(16), versionId);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(24), pid);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(28), cpu);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(32), meta0);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(40), meta1);
        msg.AsSpan(0, Math.Min(msg.Length, Math.Max(0, totalSize - BpfLcAbi.LogHeaderSize))).CopyTo(b.AsSpan(BpfLcAbi.LogHeaderSize));
        return b;
    }
}
