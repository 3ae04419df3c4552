namespace DistortSignals.Gateway;

/// <summary>Timings of the gateway and its paper terminal, bound from the <c>Gateway</c> configuration section.</summary>
public sealed class GatewayOptions
{
    public const string Section = "Gateway";

    /// <summary>How often a terminal should poll and send a heartbeat (the <c>pollSeconds</c> of the heartbeat answer).</summary>
    public int PollSeconds { get; set; } = 5;

    /// <summary>Heartbeat intervals a terminal may miss before its account is marked disconnected.</summary>
    public int MissedHeartbeats { get; set; } = 3;

    /// <summary>How long a claim holds a directive for its terminal; without a report by then it expires.</summary>
    public TimeSpan ClaimLease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the sweeper expires directives and looks for silent terminals.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The most directives one poll returns, oldest first.</summary>
    public int MaxDirectivesPerPoll { get; set; } = 100;

    /// <summary>The paper terminal's fill price moves against the order by this many pips.</summary>
    public double PaperSlippagePips { get; set; } = 0.5;

    /// <summary>The paper account's balance when the paper terminal starts.</summary>
    public double PaperInitialBalance { get; set; } = 100_000;

    /// <summary>Silence after which a terminal counts as disconnected.</summary>
    public TimeSpan HeartbeatTimeout => TimeSpan.FromSeconds(PollSeconds * MissedHeartbeats);

    public static bool IsValid(GatewayOptions options) =>
        options.PollSeconds is >= 1 and <= 60
        && options.MissedHeartbeats >= 1
        && options.ClaimLease > TimeSpan.Zero
        && options.SweepInterval > TimeSpan.Zero
        && options.MaxDirectivesPerPoll >= 1
        && double.IsFinite(options.PaperSlippagePips) && options.PaperSlippagePips >= 0
        && double.IsFinite(options.PaperInitialBalance) && options.PaperInitialBalance > 0;
}
