// The one place bpf(2) is invoked. Every caller passes a pointer to a zero-initialised attr struct.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace BpfLifecycle.Interop.Native;

internal static unsafe class BpfSyscall
{
    /// <summary>Invokes bpf(2); returns the result, or -1 with the errno in <paramref name="errno"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static long Invoke<T>(BpfCommand cmd, T* attr, out int errno) where T : unmanaged
    {
        var r = Interop.Libc.Syscall(Interop.SyscallNumbers.Bpf, (long)cmd, attr, sizeof(T));
        errno = r < 0 ? Marshal.GetLastPInvokeError() : 0;
        return r;
    }

    /// <summary>Invokes bpf(2) and throws a <see cref="BpfException"/> on failure.</summary>
    internal static long InvokeOrThrow<T>(BpfCommand cmd, T* attr, string? detail = null) where T : unmanaged
    {
        var r = Invoke(cmd, attr, out var errno);
        if (r < 0)
        {
            ThrowHelper.ThrowBpf(cmd, errno, detail);
        }

        return r;
    }

    /// <summary>Invokes a command that returns a new descriptor, retrying on EAGAIN/EINTR as libbpf does.</summary>
    internal static int InvokeFd<T>(BpfCommand cmd, T* attr, string? detail = null) where T : unmanaged
    {
        for (var attempt = 0; ; attempt++)
        {
            var r = Invoke(cmd, attr, out var errno);
            if (r >= 0)
            {
                return (int)r;
            }

            if ((errno == Errno.EAGAIN || errno == Errno.EINTR) && attempt < 5)
            {
                continue;
            }

            ThrowHelper.ThrowBpf(cmd, errno, detail);
        }
    }

    internal static void CopyName(byte* dest, int capacity, string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return;
        }

        var span = new Span<byte>(dest, capacity - 1);
        System.Text.Encoding.UTF8.TryGetBytes(name.AsSpan(0, Math.Min(name.Length, capacity - 1)), span, out _);
    }

    internal static string ReadName(byte* src, int capacity)
    {
        var span = new ReadOnlySpan<byte>(src, capacity);
        var end = span.IndexOf((byte)0);
        return System.Text.Encoding.UTF8.GetString(end < 0 ? span : span[..end]);
    }
}
