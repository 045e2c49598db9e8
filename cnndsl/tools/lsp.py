"""`cnndsl lsp`: a Language Server over standard input and output (pip install "cnndsl[lsp]").

The answers come from editor.Document; this module only speaks the protocol
(pygls) and converts between span columns (characters) and the client's
position encoding (UTF-16 by default).
"""

from __future__ import annotations

import sys

from ..core.source import Span
from ..core.version import __version__
from .editor import Document, ParseCache

INSTALL_HINT = 'cnndsl lsp needs pygls: pip install "cnndsl[lsp]"'


def serve() -> int:
    """Run the server until the client exits; the exit code."""
    try:
        server = build_server()
    except ImportError:
        print(f"cnndsl: {INSTALL_HINT}", file=sys.stderr)
        return 2
    server.start_io()
    return 0


def build_server():
    from lsprotocol import types
    from pygls.lsp.server import LanguageServer

    server = LanguageServer("cnndsl", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
    documents: dict[str, Document] = {}
    caches: dict[str, ParseCache] = {}

    def to_range(uri: str, span: Span) -> types.Range:
        """A span (1-based, characters, end exclusive) as a protocol range in the client's units."""
        server_range = types.Range(
            start=types.Position(line=span.line - 1, character=span.column - 1),
            end=types.Position(line=span.end_line - 1, character=span.end_column - 1),
        )
        document = server.workspace.get_text_document(uri)
        return document.position_codec.range_to_client_units(document.lines, server_range)

    def from_position(uri: str, position: types.Position) -> tuple[int, int]:
        document = server.workspace.get_text_document(uri)
        server_position = document.position_codec.position_from_client_units(document.lines, position)
        return server_position.line + 1, server_position.character + 1

    def analyse(uri: str) -> Document:
        text_document = server.workspace.get_text_document(uri)
        cache = caches.setdefault(uri, ParseCache())
        document = Document(text_document.source, text_document.filename or uri, cache)
        documents[uri] = document
        diagnostics = []
        for found in document.diagnostics():
            diagnostics.append(
                types.Diagnostic(
                    range=to_range(uri, found.span),
                    message=found.message,
                    severity=types.DiagnosticSeverity.Warning
                    if found.severity == "warning"
                    else types.DiagnosticSeverity.Error,
                    source="cnndsl",
                    code=found.code,
                    related_information=[
                        types.DiagnosticRelatedInformation(
                            location=types.Location(uri=uri, range=to_range(uri, span)), message=message
                        )
                        for span, message in found.related
                    ]
                    or None,
                )
            )
        server.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=text_document.version)
        )
        return document

    def current(uri: str) -> Document:
        return documents.get(uri) or analyse(uri)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(params: types.DidOpenTextDocumentParams):
        analyse(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(params: types.DidChangeTextDocumentParams):
        analyse(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(params: types.DidCloseTextDocumentParams):
        uri = params.text_document.uri
        documents.pop(uri, None)
        caches.pop(uri, None)
        server.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(params: types.HoverParams):
        uri = params.text_document.uri
        found = current(uri).hover(*from_position(uri, params.position))
        if found is None:
            return None
        text, span = found
        return types.Hover(
            contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text), range=to_range(uri, span)
        )

    kinds = {
        "layer": types.CompletionItemKind.Class,
        "merge": types.CompletionItemKind.Operator,
        "block": types.CompletionItemKind.Function,
        "option": types.CompletionItemKind.Keyword,
        "parameter": types.CompletionItemKind.Variable,
    }

    @server.feature(
        types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=[" ", "|", "(", ",", ";"])
    )
    def completion(params: types.CompletionParams):
        uri = params.text_document.uri
        # the text as it is now, even when it does not parse: completion reads the words around the cursor
        items = current(uri).completions(*from_position(uri, params.position))
        return types.CompletionList(
            is_incomplete=False,
            items=[types.CompletionItem(label=label, kind=kinds[kind], detail=detail) for label, kind, detail in items],
        )

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    def definition(params: types.DefinitionParams):
        uri = params.text_document.uri
        spans = current(uri).definition_of(*from_position(uri, params.position))
        return [types.Location(uri=uri, range=to_range(uri, span)) for span in spans] or None

    @server.feature(types.TEXT_DOCUMENT_REFERENCES)
    def references(params: types.ReferenceParams):
        uri = params.text_document.uri
        spans = current(uri).references(*from_position(uri, params.position), params.context.include_declaration)
        return [types.Location(uri=uri, range=to_range(uri, span)) for span in spans] or None

    symbol_kinds = {"block": types.SymbolKind.Function, "layer": types.SymbolKind.Variable}

    def document_symbol(uri: str, symbol) -> types.DocumentSymbol:
        return types.DocumentSymbol(
            name=symbol.name,
            kind=symbol_kinds[symbol.kind],
            range=to_range(uri, symbol.span),
            selection_range=to_range(uri, symbol.name_span),
            detail=symbol.detail or None,
            children=[document_symbol(uri, child) for child in symbol.children] or None,
        )

    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    def symbols(params: types.DocumentSymbolParams):
        uri = params.text_document.uri
        return [document_symbol(uri, symbol) for symbol in current(uri).symbols()]

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix])
    )
    def code_actions(params: types.CodeActionParams):
        uri = params.text_document.uri
        document = current(uri)
        actions = []
        for found in document.diagnostics():
            wanted = to_range(uri, found.span)
            if not _overlaps(wanted, params.range):
                continue
            for i, fix in enumerate(found.fixes):
                edit = types.TextEdit(range=to_range(uri, fix.span), new_text=fix.text)
                actions.append(
                    types.CodeAction(
                        title=fix.title,
                        kind=types.CodeActionKind.QuickFix,
                        is_preferred=i == 0,
                        edit=types.WorkspaceEdit(changes={uri: [edit]}),
                    )
                )
        return actions or None

    @server.feature(types.TEXT_DOCUMENT_FORMATTING)
    def formatting(params: types.DocumentFormattingParams):
        uri = params.text_document.uri
        edits = current(uri).formatting()
        if edits is None:
            return None  # a file that does not parse is left as it is; its diagnostic says why
        return [types.TextEdit(range=to_range(uri, span), new_text=text) for span, text in edits]

    return server


def _overlaps(a, b) -> bool:
    def key(position):
        return (position.line, position.character)

    return key(a.start) <= key(b.end) and key(b.start) <= key(a.end)
