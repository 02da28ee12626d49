// Waits on one or more ring buffers with epoll (blocking with a timeout, or async with cancellation) and reads them.
using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using BpfLifecycle.Interop;
using BpfLifecycle.Maps.Native;

namespace BpfLifecycle.Maps;

/// <summary>A record copied out of a ring: owned, valid after the ring moves on.</summary>
/// <param name="Ring">Index of the ring (in <see cref="RingBufferReader.Rings"/>) the record came from.</param>
/// <param name="Data">The record's bytes.</param>
public readonly record struct RingRecord(int Ring, ReadOnlyMemory<byte> Data);

/// <summary>
/// Waits for data on several ring buffers at once (one epoll set) and reads them. Before waiting, every ring is committed
/// and re-checked, because the kernel only wakes a reader whose committed position has caught up with the producer; so a
/// wait never sleeps on data that is already there. One consumer uses a reader at a time.
/// </summary>
public sealed class RingBufferReader : IDisposable
{
    private const ulong WakeTag = ulong.MaxValue;

    private readonly RingBuffer[] _rings;
    private readonly bool _ownsRings;
    private readonly int _epfd;
    private readonly int _eventFd;
    private readonly byte[] _events;
    private readonly SemaphoreSlim _request = new(0);
    private readonly object _gate = new();
    private Thread? _waiter;
    private TaskCompletionSource<bool>? _pending;
    private volatile bool _disposed;

    /// <summary>Creates a reader over rings; with <paramref name="ownsRings"/> disposing the reader disposes them.</summary>
    public RingBufferReader(IReadOnlyList<RingBuffer> rings, bool ownsRings = true)
    {
        ArgumentNullException.ThrowIfNull(rings);
        if (rings.Count == 0)
        {
            throw new ArgumentException("A reader needs at least one ring buffer.", nameof(rings));
        }

        _rings = rings.ToArray();
        _ownsRings = ownsRings;
        _events = new byte[MapsInterop.EpollEventSize * (_rings.Length + 1)];
        _epfd = MapsInterop.EpollCreate1(MapsInterop.EPOLL_CLOEXEC);
        if (_epfd < 0)
        {
            throw new BpfException(null, Marshal.GetLastPInvokeError(), "epoll_create1");
        }

        _eventFd = MapsInterop.EventFd(0, MapsInterop.EFD_CLOEXEC | MapsInterop.EFD_NONBLOCK);
        if (_eventFd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            _ = MapsInterop.Close(_epfd);
            throw new BpfException(null, errno, "eventfd");
        }

        try
        {
            Add(_eventFd, WakeTag, "eventfd");
            for (var i = 0; i < _rings.Length; i++)
            {
                Add(_rings[i].Handle.Fd, (ulong)i, $"ring buffer '{_rings[i].Info.Name}'");
            }
        }
        catch
        {
            _ = MapsInterop.Close(_eventFd);
            _ = MapsInterop.Close(_epfd);
            throw;
        }
    }

    /// <summary>Creates a reader over one ring.</summary>
    public RingBufferReader(RingBuffer ring, bool ownsRing = true) : this(new[] { ring ?? throw new ArgumentNullException(nameof(ring)) }, ownsRing)
    {
    }

    /// <summary>The rings, in the order given.</summary>
    public IReadOnlyList<RingBuffer> Rings => _rings;

    /// <summary>Bytes waiting to be read over all rings.</summary>
    public long Backlog
    {
        get
        {
            long sum = 0;
            foreach (var r in _rings)
            {
                sum += r.Backlog;
            }

            return sum;
        }
    }

    /// <summary>Failed reservations counted by the producers over all rings that have a lost counter.</summary>
    public long ReadLostRecords()
    {
        long sum = 0;
        foreach (var r in _rings)
        {
            sum += r.ReadLostRecords();
        }

        return sum;
    }

    private void Add(int fd, ulong tag, string what)
    {
        if (MapsInterop.EpollAdd(_epfd, fd, tag) < 0)
        {
            throw new BpfException(null, Marshal.GetLastPInvokeError(), $"epoll_ctl(ADD) of {what}");
        }
    }

    /// <summary>Commits every ring and reports whether any has a record ready.</summary>
    private bool CommitAndCheck()
    {
        var any = false;
        foreach (var r in _rings)
        {
            r.CommitFenced();
            any |= r.Backlog > 0;
        }

        return any;
    }

    /// <summary>
    /// Commits every ring and waits until one has data, the timeout passes or the token is cancelled.
    /// Returns true when data is available, false on timeout; throws <see cref="OperationCanceledException"/> on cancellation.
    /// </summary>
    public bool Wait(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        cancellationToken.ThrowIfCancellationRequested();
        if (CommitAndCheck())
        {
            return true;
        }

        var infinite = timeout == Timeout.InfiniteTimeSpan;
        if (!infinite)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(timeout, TimeSpan.Zero);
        }

        var start = Environment.TickCount64;
        using var registration = cancellationToken.UnsafeRegister(static s => ((RingBufferReader)s!).Wake(), this);
        while (true)
        {
            var remaining = infinite ? -1 : (int)Math.Clamp((long)timeout.TotalMilliseconds - (Environment.TickCount64 - start), 0, int.MaxValue);
            EpollWait(remaining);
            cancellationToken.ThrowIfCancellationRequested();
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (CommitAndCheck())
            {
                return true;
            }

            if (remaining == 0)
            {
                return false;
            }
        }
    }

    /// <summary>
    /// Commits every ring and completes when one has data. Completes synchronously when data is already there; otherwise a
    /// dedicated thread of this reader blocks in epoll_wait. Throws <see cref="OperationCanceledException"/> on cancellation.
    /// </summary>
    public ValueTask WaitAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        return CommitAndCheck() ? ValueTask.CompletedTask : WaitSlowAsync(cancellationToken);
    }

    private async ValueTask WaitSlowAsync(CancellationToken cancellationToken)
    {
        EnsureWaiter();
        using var registration = cancellationToken.UnsafeRegister(static s => ((RingBufferReader)s!).Wake(), this);
        while (true)
        {
            var tcs = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_gate)
            {
                _pending = tcs;
            }

            _request.Release();
            await tcs.Task.ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (CommitAndCheck())
            {
                return;
            }
        }
    }

    private void EnsureWaiter()
    {
        if (_waiter is not null)
        {
            return;
        }

        lock (_gate)
        {
            _waiter ??= new Thread(WaiterLoop) { IsBackground = true, Name = "bpf-ringbuf-wait" };
            if (!_waiter.IsAlive)
            {
                _waiter.Start();
            }
        }
    }

    private void WaiterLoop()
    {
        while (true)
        {
            _request.Wait();
            if (_disposed)
            {
                lock (_gate)
                {
                    _pending?.TrySetResult(false);
                }

                return;
            }

            try
            {
                EpollWait(-1);
            }
            catch (Exception e)
            {
                lock (_gate)
                {
                    _pending?.TrySetException(e);
                }

                continue;
            }

            lock (_gate)
            {
                _pending?.TrySetResult(true);
            }
        }
    }

    private unsafe void EpollWait(int timeoutMs)
    {
        fixed (byte* ev = _events)
        {
            var r = MapsInterop.EpollWait(_epfd, ev, _rings.Length + 1, timeoutMs);
            if (r < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno != MapsInterop.EINTR)
                {
                    throw new BpfException(null, errno, "epoll_wait on ring buffers");
                }

                return;
            }

            for (var i = 0; i < r; i++)
            {
                if (*(ulong*)(ev + i * MapsInterop.EpollEventSize + MapsInterop.EpollDataOffset) == WakeTag)
                {
                    ulong drained;
                    _ = MapsInterop.Read(_eventFd, &drained, 8);
                }
            }
        }
    }

    private unsafe void Wake()
    {
        ulong one = 1;
        _ = MapsInterop.Write(_eventFd, &one, 8);
    }

    /// <summary>Reads every available record of every ring (up to <paramref name="maxPerRing"/> each), committing each ring once. Returns the count.</summary>
    public int ReadAvailable(RingRecordHandler handler, int maxPerRing = int.MaxValue)
    {
        var n = 0;
        foreach (var ring in _rings)
        {
            n += ring.Consume(handler, maxPerRing);
        }

        return n;
    }

    /// <summary>
    /// The records of all rings as owned copies, waiting for more as needed until cancelled. Each batch is copied, committed
    /// as one, then yielded. Ends by throwing <see cref="OperationCanceledException"/> when the token is cancelled.
    /// </summary>
    public async IAsyncEnumerable<RingRecord> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var batch = new List<RingRecord>(256);
        while (true)
        {
            await WaitAsync(cancellationToken).ConfigureAwait(false);
            CopyBatch(batch, 256);
            foreach (var record in batch)
            {
                yield return record;
            }

            batch.Clear();
        }
    }

    private void CopyBatch(List<RingRecord> batch, int max)
    {
        for (var i = 0; i < _rings.Length; i++)
        {
            var ring = _rings[i];
            while (batch.Count < max && ring.TryRead(out var record))
            {
                batch.Add(new RingRecord(i, record.ToArray()));
            }

            ring.Commit();
        }
    }

    /// <summary>
    /// A <see cref="PipeReader"/> fed with the records of all rings until <paramref name="cancellationToken"/> is cancelled
    /// or the reader completes. Each record is framed as a 4-byte little-endian length followed by the record bytes (see
    /// <see cref="TryReadFrame"/>). A pipe that is not read fills up, the rings then fill up and the producers' failed
    /// reservations show in their lost counters: back-pressure is visible, not silent.
    /// </summary>
    public PipeReader CreatePipeReader(PipeOptions? options = null, CancellationToken cancellationToken = default)
    {
        var pipe = new Pipe(options ?? new PipeOptions(pauseWriterThreshold: 1 << 20, resumeWriterThreshold: 1 << 19, useSynchronizationContext: false));
        _ = PumpAsync(pipe.Writer, cancellationToken);
        return pipe.Reader;
    }

    private async Task PumpAsync(PipeWriter writer, CancellationToken cancellationToken)
    {
        Exception? error = null;
        try
        {
            while (true)
            {
                await WaitAsync(cancellationToken).ConfigureAwait(false);
                WriteFrames(writer);
                var flush = await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
                if (flush.IsCompleted || flush.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e)
        {
            error = e;
        }

        await writer.CompleteAsync(error).ConfigureAwait(false);
    }

    private void WriteFrames(PipeWriter writer)
    {
        foreach (var ring in _rings)
        {
            var written = 0;
            while (written < 1 << 20 && ring.TryRead(out var record))
            {
                var span = writer.GetSpan(4 + record.Length);
                BinaryPrimitives.WriteInt32LittleEndian(span, record.Length);
                record.CopyTo(span[4..]);
                writer.Advance(4 + record.Length);
                written += 4 + record.Length;
            }

            ring.Commit();
        }
    }

    /// <summary>Takes one length-prefixed record frame (as written by <see cref="CreatePipeReader"/>) off the front of <paramref name="buffer"/>.</summary>
    public static bool TryReadFrame(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> record)
    {
        record = default;
        if (buffer.Length < 4)
        {
            return false;
        }

        Span<byte> prefix = stackalloc byte[4];
        buffer.Slice(0, 4).CopyTo(prefix);
        var length = BinaryPrimitives.ReadInt32LittleEndian(prefix);
        if (buffer.Length < 4 + length)
        {
            return false;
        }

        record = buffer.Slice(4, length);
        buffer = buffer.Slice(4 + length);
        return true;
    }

    /// <summary>Stops the waiter thread, closes the epoll set and (if owned) the rings.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Wake();
        _request.Release();
        _waiter?.Join(TimeSpan.FromSeconds(5));
        lock (_gate)
        {
            _pending?.TrySetException(new ObjectDisposedException(nameof(RingBufferReader)));
        }

        _ = MapsInterop.Close(_eventFd);
        _ = MapsInterop.Close(_epfd);
        _request.Dispose();
        if (_ownsRings)
        {
            foreach (var r in _rings)
            {
                r.Dispose();
            }
        }
    }
}
