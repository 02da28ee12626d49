// The log record parser and forwarder: structured ILogger state, level mapping, malformed records counted
// (never thrown), no allocation for the fixed part, and a fuzz run over random and mutated bytes.
using BpfLifecycle.Observability.Abi;
using BpfLifecycle.Observability.Logging;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace BpfLifecycle.Observability.Tests;

public sealed class LogParserTests
{
    private static readonly ProgramIdentity Source = new("app", "prog", "v7", "xdp/veth0");

    [Fact]
    public void Parses_every_field_of_a_well_formed_record()
    {
        var bytes = LogRecords.Build(BpfLcLogLevel.Warn, "queue full", versionId: 99, pid: 1234, cpu: 3, meta0: ulong.MaxValue, meta1: 5, ts: 987654321);
        var status = BpfLogRecordParser.TryParse(bytes, out var r);
        Assert.Equal(BpfLogParseStatus.Ok, status);
        Assert.Equal(BpfLcLogLevel.Warn, r.Level);
        Assert.Equal(99ul, r.VersionId);
        Assert.Equal(1234u, r.Pid);
        Assert.Equal(3u, r.Cpu);
        Assert.Equal(ulong.MaxValue, r.Meta0);
        Assert.Equal(5ul, r.Meta1);
        Assert.Equal(987654321ul, r.TimestampNs);
        Assert.Equal("queue full", r.GetMessage());
        Assert.Equal(10, r.Message.Length);
    }

    [Theory]
    [InlineData(0, BpfLogParseStatus.TooShort)]
    [InlineData(47, BpfLogParseStatus.TooShort)]
    public void Rejects_records_shorter_than_the_header(int length, BpfLogParseStatus expected)
        => Assert.Equal(expected, BpfLogRecordParser.TryParse(new byte[length], out _));

    [Fact]
    public void Names_each_kind_of_malformed_record()
    {
        var badMagic = LogRecords.Build(BpfLcLogLevel.Info, "x");
        badMagic[0] ^= 0xff;
        Assert.Equal(BpfLogParseStatus.BadMagic, BpfLogRecordParser.TryParse(badMagic, out _));
        Assert.Equal(BpfLogParseStatus.BadLevel, BpfLogRecordParser.TryParse(LogRecords.Build((BpfLcLogLevel)6, "x"), out _));
        Assert.Equal(BpfLogParseStatus.MessageTooLong, BpfLogRecordParser.TryParse(LogRecords.Build(BpfLcLogLevel.Info, "x", msgLenOverride: 257, totalSize: 600), out _));
        Assert.Equal(BpfLogParseStatus.Truncated, BpfLogRecordParser.TryParse(LogRecords.Build(BpfLcLogLevel.Info, "hello", msgLenOverride: 20, totalSize: 60), out _));
        // A record exactly as long as header + message is fine (the BPF side always sends the full struct, others may not).
        Assert.Equal(BpfLogParseStatus.Ok, BpfLogRecordParser.TryParse(LogRecords.Build(BpfLcLogLevel.Info, "hello", totalSize: 53), out _));
    }

    [Fact]
    public void Parsing_the_fixed_part_allocates_nothing()
    {
        var bytes = LogRecords.Build(BpfLcLogLevel.Info, "packet");
        ulong sink = 0;
        for (var i = 0; i < 100; i++)
        {
            BpfLogRecordParser.TryParse(bytes, out var r);
            sink += r.VersionId;
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            BpfLogRecordParser.TryParse(bytes, out var r);
            sink += r.VersionId + (ulong)r.Message.Length;
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.NotEqual(0ul, sink);
    }

    [Fact]
    public void Forwarding_to_a_disabled_level_allocates_nothing()
    {
        var logger = new FakeLogger();
        logger.ControlLevel(LogLevel.Trace, false);
        var forwarder = new BpfLogForwarder(logger);
        var bytes = LogRecords.Build(BpfLcLogLevel.Trace, "hot path");
        var bad = new byte[20];
        for (var i = 0; i < 100; i++)
        {
            forwarder.Forward(bytes, Source);
            forwarder.Forward(bad, Source);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            forwarder.Forward(bytes, Source);
            forwarder.Forward(bad, Source);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(10_100, forwarder.Statistics.Forwarded);
        Assert.Equal(0, logger.Collector.Count);
    }

    [Theory]
    [InlineData(BpfLcLogLevel.Trace, LogLevel.Trace)]
    [InlineData(BpfLcLogLevel.Debug, LogLevel.Debug)]
    [InlineData(BpfLcLogLevel.Info, LogLevel.Information)]
    [InlineData(BpfLcLogLevel.Warn, LogLevel.Warning)]
    [InlineData(BpfLcLogLevel.Error, LogLevel.Error)]
    [InlineData(BpfLcLogLevel.Critical, LogLevel.Critical)]
    public void Forwards_with_mapped_level_and_structured_state(BpfLcLogLevel bpfLevel, LogLevel expected)
    {
        var logger = new FakeLogger();
        var forwarder = new BpfLogForwarder(logger);
        Assert.Equal(BpfLogParseStatus.Ok, forwarder.Forward(LogRecords.Build(bpfLevel, "drop", versionId: 11, pid: 77, cpu: 1, meta0: 5, meta1: 6), Source));
        var entry = Assert.Single(logger.Collector.GetSnapshot());
        Assert.Equal(expected, entry.Level);
        Assert.Equal("drop", entry.Message);
        Assert.Equal(BpfLogForwarder.BpfLogEvent, entry.Id);
        var state = entry.StructuredState!.ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.Equal("11", state["bpf.version_id"]);
        Assert.Equal("77", state["bpf.pid"]);
        Assert.Equal("1", state["bpf.cpu"]);
        Assert.Equal("5", state["bpf.meta0"]);
        Assert.Equal("6", state["bpf.meta1"]);
        Assert.Equal("app", state["bpf.application"]);
        Assert.Equal("prog", state["bpf.program"]);
        Assert.Equal("v7", state["bpf.version"]);
        Assert.Equal("xdp/veth0", state["bpf.attach_point"]);
        Assert.Equal("drop", state["Message"]);
    }

    [Fact]
    public void Malformed_records_are_counted_not_logged_or_thrown()
    {
        var logger = new FakeLogger();
        var forwarder = new BpfLogForwarder(logger);
        forwarder.Forward(new byte[10], Source);
        forwarder.Forward(LogRecords.Build((BpfLcLogLevel)9, "x"), Source);
        forwarder.Forward(LogRecords.Build(BpfLcLogLevel.Info, "ok"), Source);
        var s = forwarder.Statistics;
        Assert.Equal(new BpfLogStatistics(3, 1, 2, 1, 0, 1, 0, 0), s);
        Assert.Single(logger.Collector.GetSnapshot());
    }

    [Fact]
    public void Fuzz_random_and_mutated_bytes_never_throw_and_counts_add_up()
    {
        var rng = new Random(20261126);
        var logger = new FakeLogger();
        var forwarder = new BpfLogForwarder(logger);
        var expected = new long[6];
        var valid = LogRecords.Build(BpfLcLogLevel.Error, "a message of some length");
        for (var i = 0; i < 50_000; i++)
        {
            byte[] data;
            if (i % 2 == 0)
            {
                data = new byte[rng.Next(0, 400)];
                rng.NextBytes(data);
                if (data.Length >= 4 && rng.Next(4) == 0)
                {
                    // Give some random records the right magic so the deeper checks get exercised too.
                    BitConverter.TryWriteBytes(data, BpfLcAbi.LogMagic);
                }
            }
            else
            {
                data = valid[..rng.Next(0, valid.Length + 1)];
                for (var m = rng.Next(0, 4); m > 0 && data.Length > 0; m--)
                {
                    data[rng.Next(data.Length)] = (byte)rng.Next(256);
                }
            }

            var independent = BpfLogRecordParser.TryParse(data, out _);
            expected[(int)independent]++;
            Assert.Equal(independent, forwarder.Forward(data, Source));
        }

        var s = forwarder.Statistics;
        Assert.Equal(50_000, s.Received);
        Assert.Equal(s.Received, s.Forwarded + s.Malformed);
        Assert.Equal(s.Malformed, s.TooShort + s.BadMagic + s.BadLevel + s.MessageTooLong + s.Truncated);
        Assert.Equal(expected[0], s.Forwarded);
        Assert.Equal(expected[1], s.TooShort);
        Assert.Equal(expected[2], s.BadMagic);
        Assert.Equal(expected[3], s.BadLevel);
        Assert.Equal(expected[4], s.MessageTooLong);
        Assert.Equal(expected[5], s.Truncated);
        Assert.Equal(s.Forwarded, logger.Collector.Count);
        Assert.True(s.Forwarded > 0 && s.TooShort > 0 && s.BadMagic > 0 && s.BadLevel > 0 && s.MessageTooLong > 0 && s.Truncated > 0, s.ToString());
    }
}
