// SafeHandle types, one per kind of kernel file descriptor the SDK hands out.
using System.Runtime.InteropServices;

namespace BpfLifecycle.Interop;

/// <summary>A file descriptor owned by the SDK. Closed exactly once; never retried on EINTR.</summary>
public abstract class BpfFileDescriptor : SafeHandle
{
    /// <summary>Creates an invalid handle that owns its descriptor.</summary>
    protected BpfFileDescriptor() : base(new IntPtr(-1), ownsHandle: true)
    {
    }

    /// <summary>Wraps an existing descriptor.</summary>
    protected BpfFileDescriptor(int fd, bool ownsHandle) : base(new IntPtr(-1), ownsHandle) => SetHandle(new IntPtr(fd));

    /// <inheritdoc />
    public override bool IsInvalid => handle.ToInt64() < 0;

    /// <summary>The raw descriptor number. Valid only while this handle is open.</summary>
    public int Fd
    {
        get
        {
            if (IsClosed)
            {
                ThrowHelper.ThrowDisposed(this);
            }

            return (int)handle;
        }
    }

    /// <inheritdoc />
    protected override bool ReleaseHandle() => Native.Interop.Libc.Close((int)handle) == 0;

    /// <inheritdoc />
    public override string ToString() => IsClosed ? $"{GetType().Name}(closed)" : $"{GetType().Name}(fd {(int)handle})";
}

/// <summary>A BPF map file descriptor.</summary>
public sealed class BpfMapHandle : BpfFileDescriptor
{
    /// <summary>Creates an invalid handle (used by marshalling).</summary>
    public BpfMapHandle()
    {
    }

    /// <summary>Takes ownership of (or borrows) a map descriptor.</summary>
    public BpfMapHandle(int fd, bool ownsHandle = true) : base(fd, ownsHandle)
    {
    }
}

/// <summary>A BPF program file descriptor.</summary>
public sealed class BpfProgramHandle : BpfFileDescriptor
{
    /// <summary>Creates an invalid handle (used by marshalling).</summary>
    public BpfProgramHandle()
    {
    }

    /// <summary>Takes ownership of (or borrows) a program descriptor.</summary>
    public BpfProgramHandle(int fd, bool ownsHandle = true) : base(fd, ownsHandle)
    {
    }
}

/// <summary>A BPF link file descriptor. Closing an unpinned link detaches it.</summary>
public sealed class BpfLinkHandle : BpfFileDescriptor
{
    /// <summary>Creates an invalid handle (used by marshalling).</summary>
    public BpfLinkHandle()
    {
    }

    /// <summary>Takes ownership of (or borrows) a link descriptor.</summary>
    public BpfLinkHandle(int fd, bool ownsHandle = true) : base(fd, ownsHandle)
    {
    }
}

/// <summary>The descriptor returned by BPF_ENABLE_STATS; run-time statistics stay on while it is open.</summary>
public sealed class BpfStatsHandle : BpfFileDescriptor
{
    /// <summary>Creates an invalid handle (used by marshalling).</summary>
    public BpfStatsHandle()
    {
    }

    /// <summary>Takes ownership of a stats descriptor.</summary>
    public BpfStatsHandle(int fd, bool ownsHandle = true) : base(fd, ownsHandle)
    {
    }
}

/// <summary>A perf event descriptor (tracepoints and uprobes are attached through one).</summary>
public sealed class PerfEventHandle : BpfFileDescriptor
{
    /// <summary>Creates an invalid handle (used by marshalling).</summary>
    public PerfEventHandle()
    {
    }

    /// <summary>Takes ownership of a perf event descriptor.</summary>
    public PerfEventHandle(int fd, bool ownsHandle = true) : base(fd, ownsHandle)
    {
    }
}
