"""`cnndsl lsp`: a Language Server over standard input and output (pip install "cnndsl[lsp]").

The answers come from editor.Document; this module only speaks the protocol
(pygls) and converts between span columns (characters) and the client's
position encoding (UTF-16 by default). lsp_transport reads the frames.

Only documents the client opened are analysed, from the text the client sent
(a request on any other URI gets an empty answer). The one thing read from disk
is a file an open document's `use` line names, and only as `use` reads files
(language/modules.py: a regular file whose name ends in .cnn, within the bounds);
a used file that is open is read from the client's text instead, and an edit of
it analyses again the open documents that use it. Edits only mark a document changed; it is analysed when the
input falls quiet (or when a request needs it), so a burst of edits is
analysed once, and diagnostics always belong to the latest text.
"""

from __future__ import annotations

import sys

from ..core.source import Span
from ..core.version import __version__
from ..language.modules import Files
from .editor import Document, ParseCache

INSTALL_HINT = 'cnndsl lsp needs pygls: pip install "cnndsl[lsp]"'
LANGUAGE_IDS = ("cnndsl", "cnn")
"""The languageId an editor gives a .cnn buffer (VS Code: the extension's `cnndsl`; Neovim: the filetype)."""


def serve() -> int:
    """Run the server until the client exits; the exit code."""
    try:
        server = build_server()
    except ImportError:
        print(f"cnndsl: {INSTALL_HINT}", file=sys.stderr)
        return 2
    import asyncio
    import logging

    from .lsp_transport import serve_frames

    # pygls logs every failure with its traceback; the client gets an error reply instead, and stderr stays quiet
    logging.basicConfig(handlers=[logging.NullHandler()], force=True)
    try:
        return asyncio.run(serve_frames(server.protocol, server.cnndsl_idle, sys.stdin.fileno(), sys.stdout.fileno()))
    except KeyboardInterrupt:
        return 0
    except Exception as error:  # a bug in cnndsl: one line, never a traceback
        print(f"cnndsl lsp: internal error ({type(error).__name__}); please report it", file=sys.stderr)
        return 3


def is_cnndsl(uri: str, language_id: str | None) -> bool:
    """A document this server analyses: the editor says it is cnndsl, or its name ends in .cnn."""
    from urllib.parse import urlsplit

    return language_id in LANGUAGE_IDS or urlsplit(uri).path.endswith(".cnn")


def build_server():
    from lsprotocol import types
    from pygls.exceptions import FeatureRequestError, JsonRpcMethodNotFound
    from pygls.lsp.server import LanguageServer
    from pygls.protocol import LanguageServerProtocol, lsp_method
    from pygls.uris import to_fs_path

    class Protocol(LanguageServerProtocol):
        """pygls's, with error replies that carry a message only, and edits of unopened documents ignored."""

        def _send_response(self, msg_id, result=None, error=None):
            if error is not None:
                error = types.ResponseError(code=error.code, message=_public_message(error.code, error.message))
            super()._send_response(msg_id, result, error)

        @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
        def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams):
            if params.text_document.uri not in server.cnndsl_opened:
                return  # never opened: pygls would read it from disk
            yield from super().lsp_text_document__did_change(params)

    class Server(LanguageServer):
        def report_server_error(self, error, source):
            """A failure outside a request (in a notification): nothing to answer, so one quiet line."""
            if source is FeatureRequestError or isinstance(error, JsonRpcMethodNotFound):
                return  # the error reply said it
            print(f"cnndsl lsp: internal error ({type(error).__name__}); please report it", file=sys.stderr)

    server = Server(
        "cnndsl",
        __version__,
        text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
        protocol_cls=Protocol,
    )
    opened: dict[str, None] = {}  # the URIs of the cnndsl documents the client has open
    server.cnndsl_opened = opened
    documents: dict[str, Document] = {}  # each open document's latest analysis
    caches: dict[str, ParseCache] = {}
    changed: dict[str, None] = {}  # opened or edited since their last analysis, in order
    files: dict[str, Files] = {}  # each open document's used files (language.modules.Files)

    def text_of(uri: str):
        """The client's text of an open document (pygls's copy; never read from disk)."""
        from urllib.parse import unquote

        return server.workspace.text_documents.get(unquote(uri))

    class Converter:
        """Between spans (1-based, characters, end exclusive) and protocol ranges in the client's units."""

        def __init__(self, text: str):
            self.lines = text.split("\n")
            self.codec = server.workspace.position_codec

        def range(self, span: Span) -> types.Range:
            server_range = types.Range(
                start=types.Position(line=span.line - 1, character=span.column - 1),
                end=types.Position(line=span.end_line - 1, character=span.end_column - 1),
            )
            return self.codec.range_to_client_units(self.lines, server_range)

        def position(self, position: types.Position) -> tuple[int, int]:
            found = self.codec.position_from_client_units(self.lines, types.Position(position.line, position.character))
            return found.line + 1, found.character + 1

    def analyse(uri: str) -> Document | None:
        changed.pop(uri, None)
        text_document = text_of(uri)
        if text_document is None:
            return None
        text = text_document.source
        path = to_fs_path(uri) or uri
        name = path.replace("\\", "/").rsplit("/", 1)[-1] or "<input>"
        used = files.get(uri)
        if used is None:
            base = to_fs_path(uri) if uri.startswith("file:") else None
            used = files[uri] = Files(base, opened=opened_text) if base else Files(None, why=f"`{name}` is not a file on disk")
        used.paths = set()
        document = Document(text, name, caches.setdefault(uri, ParseCache()), files=used)
        document.converter = Converter(text)  # the positions of this text, as the client counts them
        document.uri = uri
        documents[uri] = document
        publish(uri, document, text_document.version)
        return document

    severities = {
        "error": types.DiagnosticSeverity.Error,
        "warning": types.DiagnosticSeverity.Warning,
        "information": types.DiagnosticSeverity.Information,
        "hint": types.DiagnosticSeverity.Hint,
    }

    def opened_text(real: str) -> str | None:
        """The client's text of an open document at that real path, if one is open."""
        import os

        for uri in opened:
            path = to_fs_path(uri) if uri.startswith("file:") else None
            if path and os.path.realpath(path) == real and text_of(uri) is not None:
                return text_of(uri).source
        return None

    def users_of(uri: str) -> list[str]:
        """The open documents whose last analysis read (or looked for) this document's file."""
        import os

        path = to_fs_path(uri) if uri.startswith("file:") else None
        if not path:
            return []
        real = os.path.realpath(path)
        return [other for other, used in files.items() if other != uri and real in used.paths]

    def place(span: Span, document: Document) -> types.Location | None:
        """A span as a location: in the document, or in a used file (span.file)."""
        if span.file is None:
            return types.Location(uri=document.uri, range=document.converter.range(span))
        from pygls.uris import from_fs_path

        return types.Location(uri=from_fs_path(span.file.filename), range=Converter(span.file.text).range(span))

    def publish(uri: str, document: Document, version) -> None:
        convert = document.converter
        diagnostics = [
            types.Diagnostic(
                range=convert.range(found.span),
                message=found.message,
                severity=severities.get(getattr(found, "severity", "error"), types.DiagnosticSeverity.Error),
                source="cnndsl",
                code=found.code,
                related_information=[
                    types.DiagnosticRelatedInformation(location=place(span, document), message=message)
                    for span, message in found.related
                ]
                or None,
            )
            for found in document.diagnostics()
        ]
        server.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version)
        )

    def idle() -> None:
        """The input is quiet: analyse what changed."""
        for uri in list(changed):
            analyse(uri)

    server.cnndsl_idle = idle

    def current(uri: str) -> Document | None:
        """The latest analysis of an open document; None for any other URI."""
        if uri not in opened:
            return None
        if uri in changed or uri not in documents:
            return analyse(uri)
        return documents[uri]

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(params: types.DidOpenTextDocumentParams):
        uri = params.text_document.uri
        if is_cnndsl(uri, params.text_document.language_id):
            opened[uri] = None
            caches.pop(uri, None)
            documents.pop(uri, None)
            changed[uri] = None
            changed.update(dict.fromkeys(users_of(uri)))  # they read its file from disk until now

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(params: types.DidChangeTextDocumentParams):
        changed[params.text_document.uri] = None
        changed.update(dict.fromkeys(users_of(params.text_document.uri)))

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(params: types.DidCloseTextDocumentParams):
        uri = params.text_document.uri
        if opened.pop(uri, "closed") is None:
            changed.update(dict.fromkeys(users_of(uri)))  # they read its file from disk again
            for held in (documents, caches, changed, files):
                held.pop(uri, None)
            server.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(params: types.HoverParams):
        document = current(params.text_document.uri)
        if document is None:
            return None
        found = document.hover(*document.converter.position(params.position))
        if found is None:
            return None
        text, span = found
        return types.Hover(
            contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text),
            range=document.converter.range(span),
        )

    kinds = {
        "layer": types.CompletionItemKind.Class,
        "merge": types.CompletionItemKind.Operator,
        "block": types.CompletionItemKind.Function,
        "option": types.CompletionItemKind.Keyword,
        "parameter": types.CompletionItemKind.Variable,
        "label": types.CompletionItemKind.Reference,
    }

    @server.feature(
        types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=[" ", "|", "(", ",", ";", "@"])
    )
    def completion(params: types.CompletionParams):
        document = current(params.text_document.uri)
        if document is None:
            return None
        # the text as it is now, even when it does not parse: completion reads the words around the cursor
        items = document.completions(*document.converter.position(params.position))
        return types.CompletionList(
            is_incomplete=False,
            items=[types.CompletionItem(label=label, kind=kinds[kind], detail=detail) for label, kind, detail in items],
        )

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    def definition(params: types.DefinitionParams):
        uri = params.text_document.uri
        document = current(uri)
        if document is None:
            return None
        spans = document.definition_of(*document.converter.position(params.position))
        return [place(span, document) for span in spans] or None

    @server.feature(types.TEXT_DOCUMENT_REFERENCES)
    def references(params: types.ReferenceParams):
        uri = params.text_document.uri
        document = current(uri)
        if document is None:
            return None
        where = document.converter.position(params.position)
        spans = document.references(*where, params.context.include_declaration)
        return [place(span, document) for span in spans] or None

    symbol_kinds = {"block": types.SymbolKind.Function, "layer": types.SymbolKind.Variable}

    def document_symbol(convert: Converter, symbol) -> types.DocumentSymbol:
        return types.DocumentSymbol(
            name=symbol.name,
            kind=symbol_kinds[symbol.kind],
            range=convert.range(symbol.span),
            selection_range=convert.range(symbol.name_span),
            detail=symbol.detail or None,
            children=[document_symbol(convert, child) for child in symbol.children] or None,
        )

    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    def symbols(params: types.DocumentSymbolParams):
        document = current(params.text_document.uri)
        if document is None:
            return None
        return [document_symbol(document.converter, symbol) for symbol in document.symbols()]

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix])
    )
    def code_actions(params: types.CodeActionParams):
        uri = params.text_document.uri
        document = current(uri)
        if document is None:
            return None
        convert = document.converter
        first, last = params.range.start.line, params.range.end.line
        actions = []
        for found in document.diagnostics():
            # a fix is offered anywhere on the diagnostic's lines, as editors ask for the cursor's line
            # (an error in a used file carries no fix)
            wanted = convert.range(found.span)
            if wanted.end.line < first or wanted.start.line > last:
                continue
            for i, fix in enumerate(found.fixes):
                edit = types.TextEdit(range=convert.range(fix.span), new_text=fix.text)
                actions.append(
                    types.CodeAction(
                        title=fix.title,
                        kind=types.CodeActionKind.QuickFix,
                        is_preferred=i == 0,
                        edit=types.WorkspaceEdit(changes={uri: [edit]}),
                    )
                )
        return actions or None

    from .highlight import SEMANTIC_MODIFIERS, SEMANTIC_TYPES, semantic_tokens

    type_index = {name: i for i, name in enumerate(SEMANTIC_TYPES)}

    @server.feature(
        types.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL,
        types.SemanticTokensLegend(token_types=list(SEMANTIC_TYPES), token_modifiers=list(SEMANTIC_MODIFIERS)),
    )
    def semantic_tokens_full(params: types.SemanticTokensParams):
        """The Pygments lexer's words, as the protocol packs them: five numbers each, relative to the one before."""
        uri = params.text_document.uri
        if uri not in opened or text_of(uri) is None:
            return None
        text = text_of(uri).source
        convert = Converter(text)
        data: list[int] = []
        last_line = last_start = 0
        for line, column, length, kind, modifiers in semantic_tokens(text):
            where = convert.range(Span(line, column, line, column + length))
            start, end = where.start, where.end
            delta = start.line - last_line
            data += [delta, start.character - (last_start if delta == 0 else 0), end.character - start.character]
            data += [type_index[kind], modifiers]
            last_line, last_start = start.line, start.character
        return types.SemanticTokens(data=data)

    @server.feature(types.TEXT_DOCUMENT_FORMATTING)
    def formatting(params: types.DocumentFormattingParams):
        document = current(params.text_document.uri)
        if document is None:
            return None
        edits = document.formatting()
        if edits is None:
            return None  # a file that does not parse is left as it is; its diagnostic says why
        return [types.TextEdit(range=document.converter.range(span), new_text=text) for span, text in edits]

    return server


_STANDARD_MESSAGES = {
    -32700: "parse error",
    -32600: "invalid request",
    -32601: "method not found",
    -32602: "invalid params",
    -32603: "internal error; please report it",
    -32002: "the server is not initialized yet",
    -32800: "request cancelled",
}


def _public_message(code: int, message: str) -> str:
    """An error reply's message without internals: pygls's own for the protocol's errors, never exception text."""
    if code == -32601 and message.startswith("Method Not Found: ") and len(message) < 200:
        return message  # names only the method the client sent
    return f"cnndsl lsp: {_STANDARD_MESSAGES.get(code, 'request failed')}"
