// Removes secrets and personal paths from command lines, environment variables and free text before it is logged.
using System.Text.RegularExpressions;

namespace BpfLifecycle.Observability.Redaction;

/// <summary>What the <see cref="Redactor"/> removes beyond its built-in rules.</summary>
public sealed class RedactionOptions
{
    /// <summary>Extra regular expressions; every match is replaced (configured patterns such as internal host names or customer ids).</summary>
    public IList<string> Patterns { get; } = new List<string>();

    /// <summary>Extra environment variable names (case-insensitive, <c>*</c> wildcards) whose values are always removed.</summary>
    public IList<string> SensitiveEnvironmentVariables { get; } = new List<string>();

    /// <summary>Replace the user name in home directory paths (<c>/home/alice/x</c> becomes <c>/home/***/x</c>). Default true.</summary>
    public bool RedactUserPaths { get; set; } = true;

    /// <summary>The text that replaces a secret. Default <c>***</c>.</summary>
    public string Replacement { get; set; } = "***";
}

/// <summary>
/// Redacts passwords, tokens, API keys, cloud credentials (AWS, Azure, Google), bearer/basic credentials, URL user
/// info, private key blocks, JWTs, and user names in home paths, plus configured patterns. Thread-safe.
/// </summary>
public sealed partial class Redactor
{
    private static readonly string[] s_builtInSensitiveNames =
    [
        "*PASSWORD*", "*PASSWD*", "*PWD", "*SECRET*", "*TOKEN*", "*API_KEY*", "*APIKEY*", "*ACCESS_KEY*", "*PRIVATE_KEY*",
        "*CREDENTIAL*", "*CONNECTION_STRING*", "*CONNSTR*", "AWS_SESSION_TOKEN", "AZURE_CLIENT_SECRET", "*SAS_TOKEN*",
    ];

    private readonly string _replacement;
    private readonly Regex[] _custom;
    private readonly Regex[] _sensitiveNames;
    private readonly bool _userPaths;

    /// <summary>Creates a redactor with the built-in rules and <paramref name="options"/>.</summary>
    /// <exception cref="ArgumentException">A configured pattern is not a valid regular expression (the message names it).</exception>
    public Redactor(RedactionOptions? options = null)
    {
        options ??= new RedactionOptions();
        _replacement = options.Replacement;
        _userPaths = options.RedactUserPaths;
        _custom = options.Patterns.Select(Compile).ToArray();
        _sensitiveNames = s_builtInSensitiveNames.Concat(options.SensitiveEnvironmentVariables)
            .Select(n => new Regex("^" + Regex.Escape(n).Replace("\\*", ".*", StringComparison.Ordinal) + "$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1)))
            .ToArray();
    }

    /// <summary>A redactor with only the built-in rules.</summary>
    public static Redactor Default { get; } = new();

    /// <summary>Redacts free text (a log message, an event field, one argument).</summary>
    public string Redact(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return text ?? string.Empty;
        }

        var r = _replacement;
        text = PrivateKeyBlock().Replace(text, r);
        text = UrlUserInfo().Replace(text, m => $"{m.Groups[1].Value}{m.Groups[2].Value}:{r}@");
        text = AuthorizationScheme().Replace(text, m => $"{m.Groups[1].Value} {r}");
        text = AzureKey().Replace(text, m => $"{m.Groups[1].Value}={r}");
        text = KeyValueSecret().Replace(text, m => $"{m.Groups[1].Value}{m.Groups[2].Value}{r}");
        text = SecretFlagWithSeparateValue().Replace(text, m => $"{m.Groups[1].Value}{m.Groups[2].Value}{r}");
        text = KnownTokenFormats().Replace(text, r);
        foreach (var custom in _custom)
        {
            text = custom.Replace(text, r);
        }

        if (_userPaths)
        {
            text = HomePath().Replace(text, m => $"{m.Groups[1].Value}/{r}");
        }

        return text;
    }

    /// <summary>Redacts a whole command line (flags such as <c>--password x</c>, <c>--token=x</c>, secrets in URLs, paths).</summary>
    public string RedactCommandLine(string? commandLine) => Redact(commandLine);

    /// <summary>Redacts an argument vector: a secret flag's separate value (<c>--password</c>, <c>x</c>) is removed too.</summary>
    public IReadOnlyList<string> RedactArguments(IReadOnlyList<string> arguments)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        var result = new string[arguments.Count];
        for (var i = 0; i < arguments.Count; i++)
        {
            if (i > 0 && SecretFlag().IsMatch(arguments[i - 1]) && !arguments[i - 1].Contains('=', StringComparison.Ordinal))
            {
                result[i] = _replacement;
                continue;
            }

            result[i] = Redact(arguments[i]);
        }

        return result;
    }

    /// <summary>Whether an environment variable's value is always removed because of its name.</summary>
    public bool IsSensitiveEnvironmentVariable(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        foreach (var n in _sensitiveNames)
        {
            if (n.IsMatch(name))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Redacts one environment variable's value: removed entirely for sensitive names, else redacted as text.</summary>
    public string RedactEnvironmentVariable(string name, string? value)
        => IsSensitiveEnvironmentVariable(name) ? _replacement : Redact(value);

    /// <summary>Redacts an environment block.</summary>
    public IReadOnlyDictionary<string, string> RedactEnvironment(IEnumerable<KeyValuePair<string, string?>> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in environment)
        {
            result[name] = RedactEnvironmentVariable(name, value);
        }

        return result;
    }

    /// <summary>Replaces the user name of home directory paths (<c>/home/u</c>, <c>/Users/u</c>).</summary>
    public string RedactPath(string? path) => string.IsNullOrEmpty(path) ? path ?? string.Empty : HomePath().Replace(path, m => $"{m.Groups[1].Value}/{_replacement}");

    private static Regex Compile(string pattern)
    {
        try
        {
            return new Regex(pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"Redaction pattern '{pattern}' is not a valid regular expression: {e.Message}", nameof(pattern), e);
        }
    }

    private const string SecretWord = @"(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|client[_-]?secret|credentials?|auth[_-]?key|session[_-]?key)";

    [GeneratedRegex(@"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY-----")]
    private static partial Regex PrivateKeyBlock();

    [GeneratedRegex(@"\b([a-zA-Z][a-zA-Z0-9+.-]*://)([^/\s:@]+):([^/\s@]+)@")]
    private static partial Regex UrlUserInfo();

    [GeneratedRegex(@"\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{8,}", RegexOptions.IgnoreCase)]
    private static partial Regex AuthorizationScheme();

    [GeneratedRegex(@"\b(AccountKey|SharedAccessKey|SharedAccessSignature|sig)=([^;&\s]+)", RegexOptions.IgnoreCase)]
    private static partial Regex AzureKey();

    [GeneratedRegex(@"(?<![\w])([\w.-]*" + SecretWord + @"[\w.-]*[""']?\s*)([=:]\s*[""']?)(?!\*\*\*)([^\s&;,""']+)", RegexOptions.IgnoreCase)]
    private static partial Regex KeyValueSecret();

    [GeneratedRegex(@"(--?[\w-]*" + SecretWord + @"[\w-]*)(\s+)(?!-)(?!\*\*\*)(\S+)", RegexOptions.IgnoreCase)]
    private static partial Regex SecretFlagWithSeparateValue();

    [GeneratedRegex(@"^--?[\w-]*" + SecretWord + @"[\w-]*$", RegexOptions.IgnoreCase)]
    private static partial Regex SecretFlag();

    [GeneratedRegex(@"\b(?:(?:AKIA|ASIA)[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,}|xox[abprs]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35}|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}|sk_live_[0-9a-zA-Z]{16,})")]
    private static partial Regex KnownTokenFormats();

    [GeneratedRegex(@"(/home|/Users)/(?!\*\*\*)[^/\s""':]+")]
    private static partial Regex HomePath();
}
