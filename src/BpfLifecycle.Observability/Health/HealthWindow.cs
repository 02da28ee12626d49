// A sliding window of observation samples for one program version: health rules judge the sum of the samples
// that fall within the configured window, so one noisy poll cannot decide a rollout on its own.
namespace BpfLifecycle.Observability.Health;

/// <summary>Aggregates <see cref="HealthSample"/>s over a sliding window driven by a <see cref="TimeProvider"/>. Thread-safe.</summary>
public sealed class HealthWindow
{
    private readonly Queue<(DateTimeOffset At, HealthSample Sample)> _samples = new();
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();

    /// <summary>Creates a window of the given length.</summary>
    public HealthWindow(TimeSpan length, TimeProvider timeProvider)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(length, TimeSpan.Zero);
        ArgumentNullException.ThrowIfNull(timeProvider);
        Length = length;
        _time = timeProvider;
    }

    /// <summary>The window length.</summary>
    public TimeSpan Length { get; }

    /// <summary>Adds a sample that ends now.</summary>
    public void Add(HealthSample sample)
    {
        lock (_lock)
        {
            _samples.Enqueue((_time.GetUtcNow(), sample));
            Trim(_time.GetUtcNow());
        }
    }

    /// <summary>Drops every sample (e.g. after a version change, when old evidence no longer applies).</summary>
    public void Clear()
    {
        lock (_lock)
        {
            _samples.Clear();
        }
    }

    /// <summary>
    /// The sum of the samples that ended within the window: runs, errors, nanoseconds and missed tail calls add up,
    /// the windows add up, CPU share is weighted by each sample's window, map memory is the latest figure.
    /// </summary>
    public HealthSample Aggregate()
    {
        lock (_lock)
        {
            Trim(_time.GetUtcNow());
            long runs = 0, errors = 0, ns = 0, missed = 0, memory = 0;
            var window = TimeSpan.Zero;
            double cpuWeighted = 0;
            foreach (var (_, s) in _samples)
            {
                runs += s.Runs;
                errors += s.Errors;
                ns += s.TotalNanoseconds;
                missed += s.MissedTailCalls;
                window += s.Window;
                cpuWeighted += s.CpuShare * s.Window.TotalSeconds;
                memory = s.MapMemoryBytes;
            }

            var cpu = window > TimeSpan.Zero ? cpuWeighted / window.TotalSeconds : 0;
            return new HealthSample(runs, errors, ns, missed, cpu, memory, window);
        }
    }

    /// <summary>Samples currently in the window.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                Trim(_time.GetUtcNow());
                return _samples.Count;
            }
        }
    }

    private void Trim(DateTimeOffset now)
    {
        while (_samples.Count > 0 && now - _samples.Peek().At >= Length)
        {
            _samples.Dequeue();
        }
    }
}
