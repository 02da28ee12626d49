// Limits on what an application's BPF programs may use: map memory, program count, idle time, CPU share.
namespace BpfLifecycle.Deployment.Budgets;

/// <summary>Resource budgets of one application.</summary>
public sealed class ResourceBudgetOptions
{
    /// <summary>Default per-program map memory budget: 100 MiB.</summary>
    public const long DefaultPerProgramBytes = 100L * 1024 * 1024;

    /// <summary>Default per-application map memory budget: 1 GiB.</summary>
    public const long DefaultPerApplicationBytes = 1024L * 1024 * 1024;

    /// <summary>Map memory one deployed version may use (an artifact's <c>limits.maxMapMemoryBytes</c> can only lower it). Default 100 MiB.</summary>
    public long PerProgramBytes { get; set; } = DefaultPerProgramBytes;

    /// <summary>Map memory all of the application's pinned maps may use together. Default 1 GiB.</summary>
    public long PerApplicationBytes { get; set; } = DefaultPerApplicationBytes;

    /// <summary>Programs the application may own (pinned under its directory). Default 100.</summary>
    public int MaxPrograms { get; set; } = 100;

    /// <summary>Programs loaded system-wide above which deployments are refused, or null for no system-wide check. Needs CAP_SYS_ADMIN to count.</summary>
    public int? MaxSystemPrograms { get; set; }

    /// <summary>Over the application budget, release pinned maps no loaded program references (retired versions), least recently used first. Default true.</summary>
    public bool EvictUnreferencedMaps { get; set; } = true;

    /// <summary>Problems with the values, each naming the option; empty when valid.</summary>
    public IEnumerable<string> Validate(string prefix = "Budgets")
    {
        if (PerProgramBytes <= 0)
        {
            yield return $"{prefix}.PerProgramBytes must be positive (is {PerProgramBytes}).";
        }

        if (PerApplicationBytes <= 0)
        {
            yield return $"{prefix}.PerApplicationBytes must be positive (is {PerApplicationBytes}).";
        }

        if (PerProgramBytes > PerApplicationBytes)
        {
            yield return $"{prefix}.PerProgramBytes ({PerProgramBytes}) must not exceed {prefix}.PerApplicationBytes ({PerApplicationBytes}).";
        }

        if (MaxPrograms < 1)
        {
            yield return $"{prefix}.MaxPrograms must be at least 1 (is {MaxPrograms}).";
        }

        if (MaxSystemPrograms is < 1)
        {
            yield return $"{prefix}.MaxSystemPrograms must be at least 1 when set (is {MaxSystemPrograms}).";
        }
    }
}
