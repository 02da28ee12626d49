// Chunked walk over a map's entries shared by the typed key and entry enumerators.
using BpfLifecycle.Interop;

namespace BpfLifecycle.Maps;

/// <summary>Reads a map chunk by chunk through <see cref="BpfMap.LookupBatch"/>; one instance per enumeration.</summary>
internal sealed class RawMapIterator
{
    private readonly BpfMap _map;
    private readonly BpfBatchCursor _cursor = new();
    private byte[] _keys;
    private byte[] _values;
    private int _count;
    private int _index = -1;

    internal RawMapIterator(BpfMap map, int chunk)
    {
        _map = map;
        _keys = new byte[chunk * map.KeySize];
        _values = new byte[chunk * map.ValueBufferSize];
    }

    internal ReadOnlySpan<byte> Key => _keys.AsSpan(_index * _map.KeySize, _map.KeySize);

    internal ReadOnlySpan<byte> Value => _values.AsSpan(_index * _map.ValueBufferSize, _map.ValueBufferSize);

    internal bool MoveNext()
    {
        while (++_index >= _count)
        {
            if (_cursor.IsDone)
            {
                return false;
            }

            _index = -1;
            try
            {
                _count = _map.LookupBatch(_cursor, _keys, _values);
            }
            catch (BpfException e) when (e.Errno == Errno.ENOSPC && _keys.Length / _map.KeySize < 1 << 20)
            {
                // A hash bucket holds more entries than the chunk: grow and retry from the same position.
                _keys = new byte[_keys.Length * 2];
                _values = new byte[_values.Length * 2];
                _count = 0;
            }
        }

        return true;
    }
}
