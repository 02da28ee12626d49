// The audit log on disk: append-only JSON lines, each carrying the SHA-256 of the previous line, so any edit,
// insertion or removal breaks the chain that AuditLogVerifier checks.
using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using BpfLifecycle.Observability.Redaction;

namespace BpfLifecycle.Observability.Audit;

/// <summary>Options of the file audit log.</summary>
public sealed class FileAuditLogOptions
{
    /// <summary>Path of the JSON lines file. Its directory is created if missing.</summary>
    public string Path { get; set; } = string.Empty;

    /// <summary>Key for hashing sensitive data (HMAC-SHA256); when empty, plain SHA-256 is used.</summary>
    public byte[]? SensitiveHashKey { get; set; }

    /// <summary>Flush to the device after each entry (fsync). Default true.</summary>
    public bool FlushToDisk { get; set; } = true;
}

/// <summary>
/// Append-only, hash-chained JSON lines audit log. Each line is a JSON object whose last member is <c>"hash"</c>:
/// the SHA-256 (hex) of the same line with that member removed; the line's <c>"prev"</c> member is the hash of the
/// line before it. Opening an existing log checks its last line and continues its chain. Thread-safe.
/// </summary>
public sealed class FileAuditLog : IAuditLog, IDisposable
{
    /// <summary>The previous hash of the first entry.</summary>
    public const string GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000";

    internal const int HashSuffixLength = 75; // ,"hash":"<64 hex>"}

    private readonly FileStream _stream;
    private readonly TimeProvider _time;
    private readonly Redactor _redactor;
    private readonly byte[]? _sensitiveKey;
    private readonly bool _flushToDisk;
    private readonly Lock _lock = new();
    private readonly AuditActor _actor;
    private string _head;
    private long _sequence;

    /// <summary>Opens or creates the log.</summary>
    /// <exception cref="AuditLogTamperedException">The existing log's last line is not a valid entry.</exception>
    public FileAuditLog(FileAuditLogOptions options, TimeProvider? timeProvider = null, Redactor? redactor = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(options.Path, "options.Path");
        Path = System.IO.Path.GetFullPath(options.Path);
        _time = timeProvider ?? TimeProvider.System;
        _redactor = redactor ?? Redactor.Default;
        _sensitiveKey = options.SensitiveHashKey is { Length: > 0 } k ? k.ToArray() : null;
        _flushToDisk = options.FlushToDisk;
        _actor = AuditActor.Current;
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        _stream = new FileStream(Path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read, 4096, FileOptions.None);
        try
        {
            (_sequence, _head) = ReadTail(_stream, Path);
            _stream.Seek(0, SeekOrigin.End);
        }
        catch
        {
            _stream.Dispose();
            throw;
        }
    }

    /// <summary>Full path of the log file.</summary>
    public string Path { get; }

    /// <summary>Hash of the last entry: keep it elsewhere (an anchor) to detect removal of entries at the end.</summary>
    public string Head
    {
        get
        {
            lock (_lock)
            {
                return _head;
            }
        }
    }

    /// <summary>Sequence number of the last entry (0 when empty).</summary>
    public long Count
    {
        get
        {
            lock (_lock)
            {
                return _sequence;
            }
        }
    }

    /// <inheritdoc />
    public AuditEntry Append(AuditEvent auditEvent)
    {
        ArgumentNullException.ThrowIfNull(auditEvent);
        var details = auditEvent.Details.ToDictionary(kv => kv.Key, kv => kv.Value is null ? null : _redactor.Redact(kv.Value), StringComparer.Ordinal);
        var sensitive = auditEvent.Sensitive.ToDictionary(kv => kv.Key, kv => SensitiveData.Hash(kv.Value.Span, _sensitiveKey), StringComparer.Ordinal);
        lock (_lock)
        {
            var entry = new AuditEntry
            {
                Sequence = _sequence + 1,
                Time = _time.GetUtcNow(),
                Action = auditEvent.Action,
                Outcome = auditEvent.Outcome,
                Actor = _actor,
                Program = auditEvent.Program,
                Version = auditEvent.Version,
                ArtifactSha256 = auditEvent.ArtifactSha256,
                AttachPoints = auditEvent.AttachPoints.Select(_redactor.RedactPath).ToArray(),
                Map = auditEvent.Map,
                Details = details,
                Sensitive = sensitive,
                PreviousHash = _head,
            };
            var body = Serialize(entry);
            var hash = Convert.ToHexStringLower(SHA256.HashData(body));
            var line = new byte[body.Length - 1 + HashSuffixLength + 1];
            body.AsSpan(0, body.Length - 1).CopyTo(line);
            Encoding.ASCII.GetBytes($",\"hash\":\"{hash}\"}}\n").CopyTo(line, body.Length - 1);
            _stream.Write(line);
            _stream.Flush(_flushToDisk);
            _sequence = entry.Sequence;
            _head = hash;
            return entry with { Hash = hash };
        }
    }

    /// <inheritdoc />
    public ValueTask<AuditEntry> AppendAsync(AuditEvent auditEvent, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(Append(auditEvent));
    }

    /// <inheritdoc />
    public void Dispose() => _stream.Dispose();

    internal static byte[] Serialize(AuditEntry e)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = false }))
        {
            w.WriteStartObject();
            w.WriteNumber("seq", e.Sequence);
            w.WriteString("time", e.Time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", System.Globalization.CultureInfo.InvariantCulture));
            w.WriteString("action", e.Action.ToString());
            w.WriteString("outcome", e.Outcome.ToString());
            w.WriteStartObject("actor");
            w.WriteNumber("uid", e.Actor.Uid);
            w.WriteNumber("pid", e.Actor.Pid);
            w.WriteString("process", e.Actor.Process);
            w.WriteEndObject();
            WriteOptional(w, "program", e.Program);
            WriteOptional(w, "version", e.Version);
            WriteOptional(w, "artifactSha256", e.ArtifactSha256);
            if (e.AttachPoints.Count > 0)
            {
                w.WriteStartArray("attachPoints");
                foreach (var a in e.AttachPoints)
                {
                    w.WriteStringValue(a);
                }

                w.WriteEndArray();
            }

            WriteOptional(w, "map", e.Map);
            if (e.Details.Count > 0)
            {
                w.WriteStartObject("details");
                foreach (var (k, v) in e.Details.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                {
                    if (v is null)
                    {
                        w.WriteNull(k);
                    }
                    else
                    {
                        w.WriteString(k, v);
                    }
                }

                w.WriteEndObject();
            }

            if (e.Sensitive.Count > 0)
            {
                w.WriteStartObject("sensitive");
                foreach (var (k, v) in e.Sensitive.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                {
                    w.WriteString(k, v);
                }

                w.WriteEndObject();
            }

            w.WriteString("prev", e.PreviousHash);
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteOptional(Utf8JsonWriter w, string name, string? value)
    {
        if (value is not null)
        {
            w.WriteString(name, value);
        }
    }

    private static (long Sequence, string Head) ReadTail(FileStream stream, string path)
    {
        var length = stream.Length;
        if (length == 0)
        {
            return (0, GenesisHash);
        }

        // Read backwards until the start of the last line: lines are small, so a few KiB usually suffice.
        var chunk = 4096;
        while (true)
        {
            var start = Math.Max(0, length - chunk);
            var buffer = new byte[length - start];
            stream.Seek(start, SeekOrigin.Begin);
            stream.ReadExactly(buffer);
            if (buffer[^1] != (byte)'\n')
            {
                throw new AuditLogTamperedException(path, -1, "the last line is incomplete (no newline): the log was truncated or edited");
            }

            var body = buffer.AsSpan(0, buffer.Length - 1);
            var nl = body.LastIndexOf((byte)'\n');
            if (nl >= 0 || start == 0)
            {
                var line = body[(nl + 1)..];
                var parsed = AuditLogVerifier.ParseLine(line, out var problem);
                if (parsed is null)
                {
                    throw new AuditLogTamperedException(path, -1, $"the last line is not a valid entry: {problem}");
                }

                return (parsed.Sequence, parsed.Hash);
            }

            chunk *= 4;
        }
    }
}

/// <summary>The audit log was changed by something other than this library.</summary>
public sealed class AuditLogTamperedException : Exception
{
    /// <summary>Creates the error.</summary>
    public AuditLogTamperedException(string path, long line, string problem)
        : base(line > 0 ? $"Audit log '{path}' line {line}: {problem}." : $"Audit log '{path}': {problem}.")
    {
        LogPath = path;
        Line = line;
        Problem = problem;
    }

    /// <summary>The log file.</summary>
    public string LogPath { get; }

    /// <summary>1-based line number, or -1 when not known.</summary>
    public long Line { get; }

    /// <summary>What is wrong.</summary>
    public string Problem { get; }
}
