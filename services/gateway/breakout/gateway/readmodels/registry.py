"""Every read model the gateway runs; adding one is a module plus a field here."""

from __future__ import annotations

from dataclasses import dataclass, field

from breakout.gateway.readmodels.base import ReadModel
from breakout.gateway.readmodels.control import ControlBoard
from breakout.gateway.readmodels.density import DensityWalls
from breakout.gateway.readmodels.features import FeatureBoard
from breakout.gateway.readmodels.news import NewsBoard
from breakout.gateway.readmodels.recent import RecentEvents
from breakout.gateway.readmodels.regime import RegimeBoard
from breakout.gateway.readmodels.signals import SignalBoard

TRADING_DOMAINS = ("risk", "exec", "pos", "recon")


def _trading() -> RecentEvents:
    return RecentEvents("trading", TRADING_DOMAINS)


@dataclass
class ReadModels:
    """The gateway's read models, each run as its own process application."""

    features: FeatureBoard = field(default_factory=FeatureBoard)
    density: DensityWalls = field(default_factory=DensityWalls)
    regime: RegimeBoard = field(default_factory=RegimeBoard)
    news: NewsBoard = field(default_factory=NewsBoard)
    signals: SignalBoard = field(default_factory=SignalBoard)
    control: ControlBoard = field(default_factory=ControlBoard)
    trading: RecentEvents = field(default_factory=_trading)

    def all(self) -> list[ReadModel]:
        """Every read model, in a stable order."""
        return [
            self.features,
            self.density,
            self.regime,
            self.news,
            self.signals,
            self.control,
            self.trading,
        ]
