using System.CommandLine;

namespace Junis.Server.Agents;

/// <summary>An agent's fields as options, for <c>create</c> and <c>update</c>: given ones are written, others left as they are.</summary>
internal sealed class AgentOptions
{
    private readonly Option<string> _instruction = new("--instruction") { Description = "What it is told (its system prompt)" };
    private readonly Option<string> _description = new("--description") { Description = "What it is for" };
    private readonly Option<string> _type = new("--type") { Description = string.Join("|", AgentTypes.All) + " (default LLM_AGENT)" };
    private readonly Option<string> _provider = new("--provider") { Description = "The model provider (Junis:Providers:{name}, or default)" };
    private readonly Option<string> _model = new("--model") { Description = "A model of the provider other than its own" };
    private readonly Option<double?> _temperature = new("--temperature") { Description = "0 to 2" };
    private readonly Option<int?> _maxOutputTokens = new("--max-output-tokens") { Description = "The longest reply, in tokens" };
    private readonly Option<int?> _maxLlmCalls = new("--max-llm-calls") { Description = "The most model calls of one turn" };
    private readonly Option<string> _subAgents = new("--sub-agents") { Description = "Its sub-agents' names, in order: a,b" };
    private readonly Option<string> _outputKey = new("--output-key") { Description = "Where its output is kept for the agents after it" };
    private readonly Option<int?> _maxIterations = new("--max-iterations") { Description = "LOOP_AGENT: the most rounds" };
    private readonly Option<bool?> _active = new("--active") { Description = "true or false: whether it can be used" };
    private readonly Option<bool> _orchestrator = new("--orchestrator") { Description = "Make it the organization's orchestrator, in place of any other" };

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { _instruction, _description, _type, _provider, _model, _temperature, _maxOutputTokens, _maxLlmCalls,
            _subAgents, _outputKey, _maxIterations, _active, _orchestrator })
        {
            command.Add(option);
        }
    }

    public void ApplyTo(ParseResult parse, Agent agent)
    {
        void Set<T>(Option<T> option, Action<T> write)
        {
            if (parse.GetResult(option) is not null)
                write(parse.GetValue(option)!);
        }
        Set(_instruction, v => agent.Instruction = v);
        Set(_description, v => agent.Description = v);
        Set(_type, v => agent.AgentType = v);
        Set(_provider, v => agent.Provider = v);
        Set(_model, v => agent.Model = v);
        Set(_temperature, v => agent.Temperature = v);
        Set(_maxOutputTokens, v => agent.MaxOutputTokens = v);
        Set(_maxLlmCalls, v => agent.MaxLlmCalls = v);
        Set(_subAgents, v => agent.SubAgents = Agent.SubAgentsOf(v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)));
        Set(_outputKey, v => agent.OutputKey = v);
        Set(_maxIterations, v => agent.MaxIterations = v);
        Set(_active, v => agent.IsActive = v ?? true);
        if (parse.GetValue(_orchestrator))
            agent.IsOrchestrator = true;
    }
}
