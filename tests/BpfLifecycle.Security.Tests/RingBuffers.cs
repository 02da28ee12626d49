// Reads a BPF ring buffer's producer position through its read-only mapping: the total bytes of records
// (with their 8-byte headers) written so far, which counts fixed-size records without consuming them.
using System.Runtime.InteropServices;
using BpfLifecycle.Interop;

namespace BpfLifecycle.Security.Tests;

internal static partial class RingBuffers
{
    public static unsafe long ProducerPosition(BpfMapHandle ring)
    {
        var page = Environment.SystemPageSize;
        var p = mmap(IntPtr.Zero, (nuint)page, 1 /* PROT_READ */, 1 /* MAP_SHARED */, ring.Fd, page);
        if (p == new IntPtr(-1))
        {
            throw new InvalidOperationException($"mmap of the ring buffer producer page failed: errno {Marshal.GetLastPInvokeError()}");
        }

        try
        {
            return Volatile.Read(ref *(long*)p);
        }
        finally
        {
            _ = munmap(p, (nuint)page);
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial IntPtr mmap(IntPtr addr, nuint length, int prot, int flags, int fd, long offset);

    [LibraryImport("libc")]
    private static partial int munmap(IntPtr addr, nuint length);
}
