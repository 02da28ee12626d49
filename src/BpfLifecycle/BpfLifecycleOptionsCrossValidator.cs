// Rules that span several options or need parsing: attach points, limits against budgets, keys, channels, patterns.
using System.Text.RegularExpressions;
using BpfLifecycle.Deployment.Artifacts;
using BpfLifecycle.Deployment.Security;
using BpfLifecycle.Interop;
using Microsoft.Extensions.Options;

namespace BpfLifecycle;

/// <summary>Cross-field validation of <see cref="BpfLifecycleOptions"/>; every message names the option path.</summary>
public sealed class BpfLifecycleOptionsCrossValidator : IValidateOptions<BpfLifecycleOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, BpfLifecycleOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = Problems(options).ToList();
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    /// <summary>Every problem found, each naming the option.</summary>
    public static IEnumerable<string> Problems(BpfLifecycleOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        const string root = BpfLifecycleOptions.SectionName;
        if (!o.PinRoot.StartsWith("/sys/fs/bpf", StringComparison.Ordinal))
        {
            yield return $"{root}:PinRoot '{o.PinRoot}' must be inside the bpffs mount /sys/fs/bpf.";
        }

        var b = o.Budgets;
        if (b.PerProgramBytes > b.PerApplicationBytes)
        {
            yield return $"{root}:Budgets:PerProgramBytes ({b.PerProgramBytes}) must not exceed {root}:Budgets:PerApplicationBytes ({b.PerApplicationBytes}).";
        }

        if (b.IdleProgramTimeout is { } idle && idle <= TimeSpan.Zero)
        {
            yield return $"{root}:Budgets:IdleProgramTimeout must be positive (is {idle}).";
        }

        if (b.IdleProgramTimeout is { } idle2 && idle2 < o.Monitoring.Interval)
        {
            yield return $"{root}:Budgets:IdleProgramTimeout ({idle2}) must be at least {root}:Monitoring:Interval ({o.Monitoring.Interval}).";
        }

        foreach (var (program, p) in o.Programs)
        {
            var path = $"{root}:Programs:{program}";
            if (string.IsNullOrWhiteSpace(program) || program.Length > 64 || !program.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
            {
                yield return $"{path}: program name must be 1 to 64 letters, digits, '_', '-' or '.'.";
            }

            if (p is null)
            {
                yield return $"{path}: has no settings.";
                continue;
            }

            if (p.SamplingPercent is < 0 or > 100)
            {
                yield return $"{path}:SamplingPercent must be between 0 and 100 (is {p.SamplingPercent}).";
            }

            if (p.Enabled && p.AttachPoints.Count == 0)
            {
                yield return $"{path}:AttachPoints is empty; an enabled program needs at least one attach point.";
            }

            for (var i = 0; i < p.AttachPoints.Count; i++)
            {
                string? error = null;
                try
                {
                    AttachPoint.Parse(p.AttachPoints[i]);
                }
                catch (FormatException e)
                {
                    error = e.Message;
                }

                if (error is not null)
                {
                    yield return $"{path}:AttachPoints:{i}: {error}";
                }
            }

            foreach (var pid in p.Filters.Pids.Where(pid => pid <= 0))
            {
                yield return $"{path}:Filters:Pids has {pid}; process ids are positive.";
            }

            foreach (var syscall in p.Filters.Syscalls.Where(s => string.IsNullOrWhiteSpace(s) || !s.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_')))
            {
                yield return $"{path}:Filters:Syscalls has '{syscall}'; system call names are lowercase letters, digits and '_' (e.g. openat).";
            }

            if (p.Limits.MaxMapMemoryBytes is { } mem && mem > b.PerProgramBytes)
            {
                yield return $"{path}:Limits:MaxMapMemoryBytes ({mem}) exceeds {root}:Budgets:PerProgramBytes ({b.PerProgramBytes}).";
            }

            if (p.Limits.MaxCpuShare is { } cpu && cpu > b.CpuShareLimit && cpu > o.Alerts.Thresholds.CpuShare)
            {
                yield return $"{path}:Limits:MaxCpuShare ({cpu}) exceeds both {root}:Budgets:CpuShareLimit ({b.CpuShareLimit}) and {root}:Alerts:Thresholds:CpuShare ({o.Alerts.Thresholds.CpuShare}).";
            }
        }

        var enabled = o.Programs.Count(p => p.Value?.Enabled == true);
        if (enabled > b.MaxPrograms)
        {
            yield return $"{root}:Programs has {enabled} enabled programs, over {root}:Budgets:MaxPrograms ({b.MaxPrograms}).";
        }

        for (var i = 0; i < o.Alerts.Channels.Count; i++)
        {
            var c = o.Alerts.Channels[i];
            if (!Enum.IsDefined(c.Type))
            {
                yield return $"{root}:Alerts:Channels:{i}:Type is not a channel type (Log, Webhook).";
            }

            if (c.Type == AlertChannelType.Webhook && (c.Url is null || !c.Url.IsAbsoluteUri || c.Url.Scheme is not ("http" or "https")))
            {
                yield return $"{root}:Alerts:Channels:{i}:Url must be an absolute http(s) URL for a webhook channel.";
            }
        }

        var s = o.Security;
        if (!s.AllowUnsigned && s.TrustedKeys.Count == 0 && string.IsNullOrEmpty(s.TrustedKeyDirectory))
        {
            yield return $"{root}:Security:TrustedKeys is empty and no {root}:Security:TrustedKeyDirectory is set, but signatures are required: add a key, or set {root}:Security:AllowUnsigned to true.";
        }

        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < s.TrustedKeys.Count; i++)
        {
            var k = s.TrustedKeys[i];
            var path = $"{root}:Security:TrustedKeys:{i}";
            if (!ids.Add(k.Id))
            {
                yield return $"{path}:Id '{k.Id}' is used twice.";
            }

            if (string.IsNullOrEmpty(k.Path) == string.IsNullOrEmpty(k.Pem))
            {
                yield return $"{path}: set exactly one of Path and Pem.";
                continue;
            }

            string? error = null;
            try
            {
                if (k.Path is { Length: > 0 })
                {
                    if (!File.Exists(k.Path))
                    {
                        error = $"{path}:Path '{k.Path}' does not exist.";
                    }
                    else
                    {
                        TrustedKey.FromPem(k.Id, File.ReadAllText(k.Path));
                    }
                }
                else
                {
                    TrustedKey.FromPem(k.Id, k.Pem!);
                }
            }
            catch (Exception e) when (e is TrustStoreException or FormatException)
            {
                error = $"{path}: {e.Message}";
            }

            if (error is not null)
            {
                yield return error;
            }
        }

        if (s.TrustedKeyDirectory is { Length: > 0 } dir && !Directory.Exists(dir))
        {
            yield return $"{root}:Security:TrustedKeyDirectory '{dir}' does not exist.";
        }

        for (var i = 0; i < s.KeepCapabilities.Count; i++)
        {
            string? error = null;
            try
            {
                CapabilityNames.Parse(s.KeepCapabilities[i]);
            }
            catch (FormatException e)
            {
                error = e.Message;
            }

            if (error is not null)
            {
                yield return $"{root}:Security:KeepCapabilities:{i}: {error}";
            }
        }

        if (s.Audit.SensitiveHashKeyFile is { Length: > 0 } keyFile && !File.Exists(keyFile))
        {
            yield return $"{root}:Security:Audit:SensitiveHashKeyFile '{keyFile}' does not exist.";
        }

        for (var i = 0; i < s.Redaction.Patterns.Count; i++)
        {
            string? error = null;
            try
            {
                _ = new Regex(s.Redaction.Patterns[i], RegexOptions.None, TimeSpan.FromSeconds(1));
            }
            catch (ArgumentException e)
            {
                error = e.Message;
            }

            if (error is not null)
            {
                yield return $"{root}:Security:Redaction:Patterns:{i} is not a valid regular expression: {error}";
            }
        }

        if (s.SealingKeyDirectory is { Length: > 0 } sealing && !Directory.Exists(sealing))
        {
            yield return $"{root}:Security:SealingKeyDirectory '{sealing}' does not exist.";
        }
    }
}
