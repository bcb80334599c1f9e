"""A whole model as a plugin: embedding, GRU, linear head (docs/models.md).

``--model gru_lm:build`` trains, evaluates and runs in experiments like any spec;
decoding recomputes the forward pass over the prefix at every token.
"""

from torch import Tensor, nn

WIDTHS = {"smoke": 16, "tiny": 64, "paper": 768}


class GRULanguageModel(nn.Module):
    def __init__(self, vocab_size: int, width: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, width)
        self.gru = nn.GRU(width, width, batch_first=True)
        self.head = nn.Linear(width, vocab_size)

    def forward(self, ids: Tensor) -> Tensor:  # (B, L) -> (B, L, V)
        hidden, _ = self.gru(self.embed(ids))
        return self.head(hidden)


def build(vocab_size: int, max_seq_len: int, scale: str) -> nn.Module:
    return GRULanguageModel(vocab_size, WIDTHS.get(scale, 64))
