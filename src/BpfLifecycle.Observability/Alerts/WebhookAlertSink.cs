// The built-in webhook alert sink: POSTs a Slack-compatible JSON body ({"text": ...} plus structured fields).
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using BpfLifecycle.Observability.Health;
using BpfLifecycle.Observability.Metrics;

namespace BpfLifecycle.Observability.Alerts;

/// <summary>Where and how the webhook sink posts.</summary>
public sealed class WebhookAlertOptions
{
    /// <summary>The endpoint (http or https). Required.</summary>
    public Uri? Endpoint { get; set; }

    /// <summary>Timeout of one POST. Default 10 s.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Extra request headers (e.g. an authorization token).</summary>
    public Dictionary<string, string> Headers { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Problems with the values, each naming the option; empty when valid.</summary>
    public IEnumerable<string> Validate()
    {
        if (Endpoint is null)
        {
            yield return "Webhook Endpoint is required.";
        }
        else if (!Endpoint.IsAbsoluteUri || (Endpoint.Scheme != Uri.UriSchemeHttp && Endpoint.Scheme != Uri.UriSchemeHttps))
        {
            yield return $"Webhook Endpoint must be an absolute http or https URI (is '{Endpoint}').";
        }

        if (Timeout <= TimeSpan.Zero)
        {
            yield return $"Webhook Timeout must be positive (is {Timeout}).";
        }
    }
}

/// <summary>Thrown when a webhook answers with a non-success status.</summary>
public sealed class AlertDeliveryException : Exception
{
    /// <summary>Creates the exception.</summary>
    public AlertDeliveryException(string message, int? statusCode = null, Exception? inner = null) : base(message, inner) => StatusCode = statusCode;

    /// <summary>The HTTP status the endpoint answered with, if it answered.</summary>
    public int? StatusCode { get; }
}

/// <summary>
/// Posts each alert as JSON: <c>text</c> (what Slack and compatible chat hooks display), the structured fields
/// <c>severity</c>, <c>rule</c>, <c>application</c>, <c>program</c>, <c>version</c>, <c>attach_point</c>,
/// <c>observed</c>, <c>threshold</c>, <c>raised_at</c>, <c>suppressed_count</c>, and a Slack attachment repeating them.
/// </summary>
public sealed class WebhookAlertSink : IAlertSink, IDisposable
{
    private readonly HttpClient _client;
    private readonly bool _ownsClient;
    private readonly WebhookAlertOptions _options;

    /// <summary>Creates the sink. When <paramref name="httpClient"/> is null the sink creates (and disposes) its own.</summary>
    public WebhookAlertSink(WebhookAlertOptions options, HttpClient? httpClient = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Validate().ToList();
        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid webhook options: " + string.Join(" ", problems), nameof(options));
        }

        _options = options;
        _ownsClient = httpClient is null;
        _client = httpClient ?? new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) });
    }

    /// <inheritdoc />
    public string Name => "webhook " + _options.Endpoint!.GetLeftPart(UriPartial.Authority);

    /// <inheritdoc />
    public async ValueTask SendAsync(Alert alert, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alert);
        using var body = new ByteArrayContent(Serialize(alert));
        body.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        using var request = new HttpRequestMessage(HttpMethod.Post, _options.Endpoint) { Content = body };
        foreach (var (name, value) in _options.Headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.Timeout);
        HttpResponseMessage response;
        try
        {
            response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new AlertDeliveryException($"Webhook {_options.Endpoint} did not answer within {_options.Timeout}.", null, e);
        }
        catch (HttpRequestException e)
        {
            throw new AlertDeliveryException($"Webhook {_options.Endpoint} could not be reached: {e.Message}", null, e);
        }

        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                throw new AlertDeliveryException($"Webhook {_options.Endpoint} answered {(int)response.StatusCode} {response.ReasonPhrase}.", (int)response.StatusCode);
            }
        }
    }

    /// <summary>The JSON body posted for an alert (UTF-8).</summary>
    public static byte[] Serialize(Alert alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            var severity = BpfLifecycleMetrics.SeverityName(alert.Severity);
            w.WriteStartObject();
            w.WriteString("text", alert.Summary);
            w.WriteString("severity", severity);
            w.WriteString("rule", alert.Rule);
            w.WriteString("application", alert.Program.Application);
            w.WriteString("program", alert.Program.Program);
            w.WriteString("version", alert.Program.Version);
            if (alert.Program.AttachPoint is null)
            {
                w.WriteNull("attach_point");
            }
            else
            {
                w.WriteString("attach_point", alert.Program.AttachPoint);
            }

            w.WriteString("message", alert.Message);
            WriteNumber(w, "observed", alert.Observed);
            WriteNumber(w, "threshold", alert.Threshold);
            w.WriteString("raised_at", alert.RaisedAt.ToString("O", CultureInfo.InvariantCulture));
            w.WriteNumber("suppressed_count", alert.SuppressedCount);
            w.WriteStartArray("attachments");
            w.WriteStartObject();
            w.WriteString("color", alert.Severity switch { AlertSeverity.Critical => "danger", AlertSeverity.Warning => "warning", _ => "good" });
            w.WriteString("fallback", alert.Summary);
            w.WriteStartArray("fields");
            Field(w, "Severity", severity);
            Field(w, "Rule", alert.Rule);
            Field(w, "Program", alert.Program.ToString());
            Field(w, "Observed", alert.Observed.ToString("G6", CultureInfo.InvariantCulture));
            Field(w, "Threshold", alert.Threshold.ToString("G6", CultureInfo.InvariantCulture));
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
        }

        return stream.ToArray();
    }

    private static void WriteNumber(Utf8JsonWriter w, string name, double value)
    {
        // JSON has no infinity or NaN (a ratio against a zero baseline is infinite): write those as strings.
        if (double.IsFinite(value))
        {
            w.WriteNumber(name, value);
        }
        else
        {
            w.WriteString(name, value.ToString(CultureInfo.InvariantCulture));
        }
    }

    private static void Field(Utf8JsonWriter w, string title, string value)
    {
        w.WriteStartObject();
        w.WriteString("title", title);
        w.WriteString("value", value);
        w.WriteBoolean("short", true);
        w.WriteEndObject();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsClient)
        {
            _client.Dispose();
        }
    }
}
