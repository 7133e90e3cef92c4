using System.Text;
using System.Text.Json;
using Junis.Server.Llm;

namespace Junis.Server.Tests.Llm;

/// <summary>The reader of model answers, chunk by chunk: what it takes from them, what it skips, what it refuses.</summary>
public sealed class ModelAnswerReaderTests
{
    private static ModelAnswer? Read(string json) => ModelAnswerReader.Read(Encoding.UTF8.GetBytes(json));

    [Fact]
    public void AStreamedChunkGivesItsDeltaAndFinishReasonAndSkipsEverythingElse()
    {
        var chunk = Read("""
            {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"m","system_fingerprint":null,
             "choices":[{"index":0,"delta":{"role":"assistant","content":"Hel","extra":{"deep":[1,{"a":[true,null]}]}},
                         "logprobs":null,"finish_reason":"stop"}],
             "obfuscation":"abc"}
            """)!;

        var choice = Assert.Single(chunk.Choices!);
        Assert.Equal("Hel", choice.Delta!.Content);
        Assert.Null(choice.Message);
        Assert.Equal("stop", choice.FinishReason);
        Assert.Null(chunk.Usage);
        Assert.Null(chunk.Error);
    }

    [Fact]
    public void AWholeAnswerGivesItsMessageToolCallsAndUsage()
    {
        var answer = Read("""
            {"choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":null,
              "tool_calls":[{"id":"call_1","type":"function","function":{"name":"end_call","arguments":"{\"reason\":\"bye\"}"}},
                            {"index":1,"id":"call_2","function":{"name":"transfer_call","arguments":""}}]},
              "finish_reason":"tool_calls"}],
             "usage":{"prompt_tokens":12,"completion_tokens":34,"total_tokens":46,"prompt_tokens_details":{"cached_tokens":0}}}
            """)!;

        var message = Assert.Single(answer.Choices!).Message!;
        Assert.Null(message.Content);
        Assert.Collection(message.ToolCalls!,
            call =>
            {
                Assert.Null(call.Index);
                Assert.Equal("call_1", call.Id);
                Assert.Equal("end_call", call.Function!.Name);
                Assert.Equal("{\"reason\":\"bye\"}", call.Function.Arguments);
            },
            call =>
            {
                Assert.Equal(1, call.Index);
                Assert.Equal("function", call.Type);
                Assert.Equal("", call.Function!.Arguments);
            });
        Assert.Equal(12, answer.Usage!.PromptTokens);
        Assert.Equal(34, answer.Usage.CompletionTokens);
    }

    [Theory]
    [InlineData("""{"error":{"message":"Rate limit reached","type":"requests","code":null}}""", "Rate limit reached", null)]
    [InlineData("""{"object":"error","message":"The model does not exist.","code":404}""", null, "The model does not exist.")]
    public void AnErrorBodyGivesItsMessageWhereverTheServerPutsIt(string json, string? nested, string? topLevel)
    {
        var answer = Read(json)!;

        Assert.Equal(nested, answer.Error?.Message);
        Assert.Equal(topLevel, answer.Message);
    }

    [Fact]
    public void EscapesAreReadInNamesAndValues()
    {
        var answer = Read("""{"choices":[{"delta":{"\u0063ontent":"say \"hi\" \u00e9\ud83d\ude00\n"}}]}""")!;

        Assert.Equal("say \"hi\" é😀\n", answer.Choices![0].Delta!.Content);
    }

    [Fact]
    public void NullsAreAbsentValuesAndNullItemsAreLeftOut()
    {
        var answer = Read("""{"choices":[null,{"delta":null,"finish_reason":null},null],"usage":null,"error":null}""")!;

        var choice = Assert.Single(answer.Choices!);
        Assert.Null(choice.Delta);
        Assert.Null(choice.FinishReason);
        Assert.Null(answer.Usage);
        Assert.Null(Read("null"));
        Assert.Null(Read("""{"choices":null}""")!.Choices);
    }

    [Fact]
    public void AnAnswerWithoutTheFieldsItNeedsIsEmptyNotAnError()
    {
        var answer = Read("{}")!;

        Assert.Null(answer.Choices);
        Assert.Empty(Read("""{"choices":[]}""")!.Choices!);
    }

    [Theory]
    [InlineData("""{"choices":{}}""")]
    [InlineData("""{"choices":[1]}""")]
    [InlineData("""{"choices":[{"delta":{"content":5}}]}""")]
    [InlineData("""{"choices":[{"delta":{"tool_calls":[{"index":"1"}]}}]}""")]
    [InlineData("""{"choices":[{"delta":{"tool_calls":[{"index":1.5}]}}]}""")]
    [InlineData("""{"usage":{"prompt_tokens":null}}""")]
    [InlineData("""{"usage":[]}""")]
    [InlineData("""{"error":"boom"}""")]
    [InlineData("""[]""")]
    [InlineData("\"text\"")]
    public void AFieldOfTheWrongTypeIsRefused(string json) =>
        Assert.ThrowsAny<JsonException>(() => Read(json));

    [Theory]
    [InlineData("")]
    [InlineData("{")]
    [InlineData("""{"choices":[{"delta":{"content":"x"}}]""")]
    [InlineData("""{"choices":[]} {"choices":[]}""")]
    [InlineData("""{"choices":[],}""")]
    [InlineData("""{"choices":[] /* note */}""")]
    [InlineData("<html>Bad Gateway</html>")]
    public void MalformedJsonIsRefused(string json) =>
        Assert.ThrowsAny<JsonException>(() => Read(json));
}
