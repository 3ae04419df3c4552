using DistortSignals.Host.Cli;

return await CliApp.RunAsync(args);
