using Luthien.Control.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Time.Testing;

namespace Luthien.Control.AspNetCore.Tests.Reading;

public class RequestReaderTests
{
    private const string ChatBody = """{"model":"m","messages":[{"role":"user","content":"hi"}]}""";

    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero));

    [Test]
    public void Check_CanonicalChatPath_AllowsReading()
    {
        var exchange = new TestExchange(body: ChatBody);

        Assert.That(Reader().Check(exchange.Context, "chat/completions", RequestKind.ChatCompletion), Is.Null);
    }

    [Test]
    public void Check_PathWithEmptySegment_Refuses400()
    {
        var exchange = new TestExchange(path: "/v1/chat/completions", body: ChatBody);
        exchange.Context.Features.Get<IHttpRequestFeature>()!.RawTarget = "/v1//chat/completions";

        var refusal = Reader().Check(exchange.Context, "chat/completions", RequestKind.ChatCompletion);

        Assert.That(refusal?.StatusCode, Is.EqualTo(400));
        Assert.That(refusal?.Code, Is.EqualTo("invalid_request"));
    }

    [Test]
    public void Check_PassthroughNotAllowed_Refuses404NamingTheSetting()
    {
        var exchange = new TestExchange(method: "GET", path: "/v1/files");

        var refusal = Reader().Check(exchange.Context, "files", RequestKind.Passthrough);

        Assert.That(refusal?.StatusCode, Is.EqualTo(404));
        Assert.That(refusal?.Message, Does.Contain("Luthien:Passthrough:Allow"));
    }

    [Test]
    public void Check_PassthroughAllowed_AllowsReading()
    {
        var exchange = new TestExchange(method: "GET", path: "/v1/models");

        Assert.That(Reader().Check(exchange.Context, "models", RequestKind.Passthrough), Is.Null);
    }

    [Test]
    public async Task ReadAsync_ChatBody_TransactionWithParsedRequestIdAndStart()
    {
        var exchange = new TestExchange(body: ChatBody);
        exchange.Context.Request.Headers.Authorization = "Bearer client-key";

        var transaction = await Reader().ReadAsync(exchange.Context, "chat/completions", RequestKind.ChatCompletion, "ltx-test");

        Assert.That(transaction.Id, Is.EqualTo("ltx-test"));
        Assert.That(transaction.Request.Kind, Is.EqualTo(RequestKind.ChatCompletion));
        Assert.That(transaction.Request.Model, Is.EqualTo("m"));
        Assert.That(transaction.Request.Path, Is.EqualTo("chat/completions"));
        Assert.That(transaction.Request.ClientApiKey, Is.EqualTo("client-key"));
        Assert.That(transaction.StartedAt, Is.EqualTo(_clock.GetUtcNow()));
    }

    [Test]
    public void ReadAsync_DeclaredLengthOverLimit_Throws413Unread()
    {
        var exchange = new TestExchange(body: ChatBody);
        exchange.Context.Request.ContentLength = 1_000_000;

        var ex = Assert.ThrowsAsync<InvalidRequestException>(async () =>
            await Reader(new LuthienOptions { Limits = { MaxRequestBodyBytes = 1024 } }).ReadAsync(exchange.Context, "chat/completions", RequestKind.ChatCompletion, "ltx-test"));

        Assert.That(ex!.StatusCode, Is.EqualTo(413));
        Assert.That(exchange.Context.Request.Body.Position, Is.Zero);
    }

    [Test]
    public void ReadAsync_UndeclaredBodyOverLimit_Throws413()
    {
        var exchange = new TestExchange(body: ChatBody, declareLength: false);

        var ex = Assert.ThrowsAsync<InvalidRequestException>(async () =>
            await Reader(new LuthienOptions { Limits = { MaxRequestBodyBytes = 16 } }).ReadAsync(exchange.Context, "chat/completions", RequestKind.ChatCompletion, "ltx-test"));

        Assert.That(ex!.StatusCode, Is.EqualTo(413));
        Assert.That(ex.Code, Is.EqualTo("request_too_large"));
    }

    [Test]
    public void ReadAsync_BodyShorterThanDeclared_Throws400()
    {
        var exchange = new TestExchange(body: ChatBody);
        exchange.Context.Request.ContentLength = ChatBody.Length + 10;

        var ex = Assert.ThrowsAsync<InvalidRequestException>(async () =>
            await Reader().ReadAsync(exchange.Context, "chat/completions", RequestKind.ChatCompletion, "ltx-test"));

        Assert.That(ex!.StatusCode, Is.EqualTo(400));
    }

    [Test]
    public void ReadAsync_BodyNotJson_Throws400InvalidRequest()
    {
        var exchange = new TestExchange(body: "not json");

        var ex = Assert.ThrowsAsync<InvalidRequestException>(async () =>
            await Reader().ReadAsync(exchange.Context, "chat/completions", RequestKind.ChatCompletion, "ltx-test"));

        Assert.That(ex!.Code, Is.EqualTo("invalid_request"));
    }

    [Test]
    public async Task ReadAsync_Passthrough_BodyLeftToStreamWithQueryKept()
    {
        var exchange = new TestExchange(method: "POST", path: "/v1/embeddings", body: """{"input":"x"}""");
        exchange.Context.Request.QueryString = new Microsoft.AspNetCore.Http.QueryString("?a=1");

        var transaction = await Reader().ReadAsync(exchange.Context, "embeddings", RequestKind.Passthrough, "ltx-test");

        Assert.That(transaction.Request.Kind, Is.EqualTo(RequestKind.Passthrough));
        Assert.That(transaction.Request.QueryString, Is.EqualTo("?a=1"));
        Assert.That(exchange.Context.Request.Body.Position, Is.Zero, "nothing read before the backend takes it");
        using var copy = new MemoryStream();
        await transaction.Request.Body!.CopyToAsync(copy);
        Assert.That(copy.ToArray(), Is.EqualTo("""{"input":"x"}"""u8.ToArray()));
    }

    [Test]
    public void ReadAsync_PassthroughDeclaredOverLimit_Throws413()
    {
        var exchange = new TestExchange(method: "POST", path: "/v1/embeddings", body: """{"input":"x"}""");
        exchange.Context.Request.ContentLength = 1_000_000;

        var ex = Assert.ThrowsAsync<InvalidRequestException>(async () =>
            await Reader(new LuthienOptions { Limits = { MaxRequestBodyBytes = 1024 } }).ReadAsync(exchange.Context, "embeddings", RequestKind.Passthrough, "ltx-test"));

        Assert.That(ex!.StatusCode, Is.EqualTo(413));
    }

    [Test]
    public async Task ReadAsync_PassthroughBodyGrowsPastLimit_Fails413AsItIsRead()
    {
        var exchange = new TestExchange(method: "POST", path: "/v1/embeddings", body: new string('x', 64), declareLength: false);
        var transaction = await Reader(new LuthienOptions { Limits = { MaxRequestBodyBytes = 16 } }).ReadAsync(exchange.Context, "embeddings", RequestKind.Passthrough, "ltx-test");

        var ex = Assert.ThrowsAsync<InvalidRequestException>(async () => await transaction.Request.Body!.CopyToAsync(Stream.Null));

        Assert.That(ex!.StatusCode, Is.EqualTo(413));
    }

    private RequestReader Reader(LuthienOptions? options = null) => new(TestExchange.Monitor(options), _clock);
}
