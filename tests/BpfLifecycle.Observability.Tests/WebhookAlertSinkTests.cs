// The webhook sink against a real HTTP listener on 127.0.0.1: the Slack-compatible JSON body, headers, and
// non-success answers reported as delivery errors.
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using BpfLifecycle.Observability.Alerts;
using BpfLifecycle.Observability.Health;
using Microsoft.Extensions.Time.Testing;

namespace BpfLifecycle.Observability.Tests;

public sealed class WebhookAlertSinkTests : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly List<(string RequestLine, Dictionary<string, string> Headers, string Body)> _requests = new();
    private int _status = 200;

    public WebhookAlertSinkTests() => _listener.Start();

    private Uri Endpoint => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/hooks/alerts");

    // A minimal HTTP/1.1 server: one request per connection, answered with _status and Connection: close.
    private async Task ServeAsync(int requests, CancellationToken ct)
    {
        for (var i = 0; i < requests; i++)
        {
            using var client = await _listener.AcceptTcpClientAsync(ct);
            var stream = client.GetStream();
            var reader = new StreamReader(stream, Encoding.ASCII, false, 1, leaveOpen: true);
            var requestLine = await reader.ReadLineAsync(ct) ?? string.Empty;
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            string? line;
            while (!string.IsNullOrEmpty(line = await reader.ReadLineAsync(ct)))
            {
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                headers[line[..colon]] = line[(colon + 1)..].Trim();
            }

            var length = int.Parse(headers["Content-Length"], System.Globalization.CultureInfo.InvariantCulture);
            var body = new char[length];
            var read = 0;
            while (read < length)
            {
                read += await reader.ReadAsync(body.AsMemory(read), ct);
            }

            _requests.Add((requestLine, headers, new string(body)));
            var reason = _status == 200 ? "OK" : "Service Unavailable";
            var response = Encoding.ASCII.GetBytes($"HTTP/1.1 {_status} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            await stream.WriteAsync(response, ct);
        }
    }

    private static Alert SampleAlert() => new(new ProgramIdentity("shop", "filter", "v2", "xdp/eth9"), HealthRules.ErrorRateVsBaseline, AlertSeverity.Critical,
        "candidate error rate 2% vs baseline 0% (the baseline had none) > 1.1x baseline", double.PositiveInfinity, 1.1, new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 8, 0, 0, TimeSpan.Zero)).GetUtcNow())
    {
        SuppressedCount = 4,
    };

    [Fact]
    public async Task Posts_a_slack_compatible_json_body_to_a_real_listener()
    {
        var ct = TestContext.Current.CancellationToken;
        var server = ServeAsync(1, ct);
        var options = new WebhookAlertOptions { Endpoint = Endpoint };
        options.Headers["Authorization"] = "Bearer t0ken";
        using var sink = new WebhookAlertSink(options);
        await sink.SendAsync(SampleAlert(), ct);
        await server;

        var (requestLine, headers, body) = Assert.Single(_requests);
        Assert.Equal("POST /hooks/alerts HTTP/1.1", requestLine);
        Assert.StartsWith("application/json", headers["Content-Type"], StringComparison.Ordinal);
        Assert.Equal("Bearer t0ken", headers["Authorization"]);
        using var json = JsonDocument.Parse(body);
        var root = json.RootElement;
        Assert.Equal("[CRITICAL] shop/filter@v2 (xdp/eth9) error-rate-vs-baseline: candidate error rate 2% vs baseline 0% (the baseline had none) > 1.1x baseline (repeated 4 more times)", root.GetProperty("text").GetString());
        Assert.Equal("critical", root.GetProperty("severity").GetString());
        Assert.Equal("error-rate-vs-baseline", root.GetProperty("rule").GetString());
        Assert.Equal("shop", root.GetProperty("application").GetString());
        Assert.Equal("filter", root.GetProperty("program").GetString());
        Assert.Equal("v2", root.GetProperty("version").GetString());
        Assert.Equal("xdp/eth9", root.GetProperty("attach_point").GetString());
        Assert.Equal("Infinity", root.GetProperty("observed").GetString());
        Assert.Equal(1.1, root.GetProperty("threshold").GetDouble());
        Assert.Equal(4, root.GetProperty("suppressed_count").GetInt32());
        Assert.Equal("2026-11-26T08:00:00.0000000+00:00", root.GetProperty("raised_at").GetString());
        var attachment = Assert.Single(root.GetProperty("attachments").EnumerateArray().ToList());
        Assert.Equal("danger", attachment.GetProperty("color").GetString());
        Assert.Contains(attachment.GetProperty("fields").EnumerateArray(), f => f.GetProperty("title").GetString() == "Rule" && f.GetProperty("value").GetString() == "error-rate-vs-baseline");
    }

    [Fact]
    public async Task Non_success_answer_is_a_delivery_error_the_publisher_counts()
    {
        var ct = TestContext.Current.CancellationToken;
        _status = 503;
        var server = ServeAsync(2, ct);
        using var sink = new WebhookAlertSink(new WebhookAlertOptions { Endpoint = Endpoint });
        var ex = await Assert.ThrowsAsync<AlertDeliveryException>(async () => await sink.SendAsync(SampleAlert(), ct));
        Assert.Equal(503, ex.StatusCode);
        Assert.Contains("503", ex.Message, StringComparison.Ordinal);

        var publisher = new AlertPublisher([sink], new AlertOptions(), TimeProvider.System);
        Assert.Equal(AlertOutcome.Delivered, await publisher.PublishAsync(SampleAlert(), ct));
        Assert.Equal(1, publisher.Statistics.SinkFailures);
        await server;
        Assert.Equal(2, _requests.Count);
    }

    [Fact]
    public async Task Unreachable_endpoint_is_a_delivery_error()
    {
        var port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _listener.Stop(); // nothing listens on the port any more
        using var sink = new WebhookAlertSink(new WebhookAlertOptions { Endpoint = new Uri($"http://127.0.0.1:{port}/x") });
        var ex = await Assert.ThrowsAsync<AlertDeliveryException>(async () => await sink.SendAsync(SampleAlert(), TestContext.Current.CancellationToken));
        Assert.Null(ex.StatusCode);
        Assert.Contains("could not be reached", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_endpoint_is_named()
    {
        var ex = Assert.Throws<ArgumentException>(() => new WebhookAlertSink(new WebhookAlertOptions { Endpoint = new Uri("ftp://example.org/") }));
        Assert.Contains("absolute http or https", ex.Message, StringComparison.Ordinal);
        Assert.Contains("required", Assert.Throws<ArgumentException>(() => new WebhookAlertSink(new WebhookAlertOptions())).Message, StringComparison.Ordinal);
    }

    public ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Dispose();
        return ValueTask.CompletedTask;
    }
}
