// The read position in a ring buffer's data and the walk from one record header to the next.
using System.Runtime.CompilerServices;

namespace BpfLifecycle.Maps;

/// <summary>
/// Walks record headers from a position: skips discarded records, stops at a busy record or the producer position, and
/// hands out each submitted record as a span into the mapping. Shared by <see cref="RingBuffer.TryRead"/>,
/// <see cref="RingBuffer.RingBatch"/> and <see cref="RingBuffer.Consume{THandler}(ref THandler, int)"/>, which keep a copy
/// in locals while they run.
/// <para>
/// Each record's position depends on the previous record's length, which makes a plain walk a chain of dependent loads:
/// the next header cannot be read before this one arrives. While records keep one length (one record type per ring, the
/// common case), the cursor predicts it: it compares the header with the previous record's and, when equal, already knows
/// the next position, so the CPU reads the following headers ahead instead of waiting for each in turn. A wrong
/// prediction costs a branch mispredict, so the cursor counts length changes over windows of <see cref="Window"/> records
/// and predicts only while a window's records average at least <see cref="MinimumRun"/> per run of one length; with
/// lengths that change more often it walks the chain, with no data-dependent branch.
/// </para>
/// </summary>
internal unsafe struct RingCursor
{
    internal const uint BusyBit = 1u << 31;
    internal const uint DiscardBit = 1u << 30;
    internal const int HeaderSize = 8;

    /// <summary>Records per window over which length changes are counted.</summary>
    internal const int Window = 1024;

    /// <summary>The shortest average run of one length, over a window, that keeps prediction on.</summary>
    internal const int MinimumRun = 8;

    /// <summary>Position of the next header to read.</summary>
    public long Position;

    /// <summary>The producer position as last read; records below it need no new read of the producer page.</summary>
    public long ProducerCache;

    // Header of the last record handed out (never with the busy or discard bit) and its rounded size with header.
    private uint _lastLength;
    private long _lastStep;
    private bool _predict;
    private int _changes;
    private int _window;

    /// <summary>A cursor at <paramref name="position"/>, predicting, with no previous record.</summary>
    public static RingCursor At(long position) => new()
    {
        Position = position,
        ProducerCache = position,
        _lastLength = 0,
        _lastStep = HeaderSize,
        _predict = true,
        _window = Window,
    };

    /// <summary>Whether the cursor currently predicts record lengths.</summary>
    public readonly bool Predicting => _predict;

    /// <summary>
    /// Reads the next submitted record at or after <see cref="Position"/>. Returns false at the producer position or at a
    /// busy record, leaving <see cref="Position"/> on it. <paramref name="producer"/> is the producer position's address;
    /// null means the ring is disposed, which throws once the cached records run out.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryNext(byte* data, long mask, long* producer, out ReadOnlySpan<byte> record)
    {
        var pos = Position;
        if (_predict && pos < ProducerCache)
        {
            var predicted = data + (pos & mask);
            var len = Volatile.Read(ref *(uint*)predicted);

            // _lastLength has neither flag bit, so an equal header is a submitted record of the same size, and the next
            // position needs nothing from this load.
            if (len == _lastLength)
            {
                Position = pos + _lastStep;
                if (--_window == 0)
                {
                    EndWindow();
                }

                record = new ReadOnlySpan<byte>(predicted + HeaderSize, (int)len);
                return true;
            }
        }

        while (true)
        {
            if (pos >= ProducerCache)
            {
                if (producer == null)
                {
                    ThrowHelper.Disposed(nameof(RingBuffer));
                }

                // Acquire: the record bytes below the producer position are visible once the position is.
                ProducerCache = Volatile.Read(ref *producer);
                if (pos >= ProducerCache)
                {
                    break;
                }
            }

            var header = data + (pos & mask);
            var len = Volatile.Read(ref *(uint*)header);
            if ((len & BusyBit) != 0)
            {
                break;
            }

            var size = (int)(len & ~(BusyBit | DiscardBit));
            var step = (size + HeaderSize + 7) & ~7;
            pos += step;
            if ((len & DiscardBit) == 0)
            {
                // Branch-free on purpose: without prediction this path runs for every record.
                _changes += len != _lastLength ? 1 : 0;
                _lastLength = len;
                _lastStep = step;
                Position = pos;
                if (--_window == 0)
                {
                    EndWindow();
                }

                record = new ReadOnlySpan<byte>(header + HeaderSize, size);
                return true;
            }
        }

        Position = pos;
        record = default;
        return false;
    }

    private void EndWindow()
    {
        _predict = _changes * MinimumRun <= Window;
        _changes = 0;
        _window = Window;
    }
}
