"""Trading accounts of the simulated exchange: API credentials, balances, orders and fills.

Money is `Decimal`: balances move by exact amounts (price ticks times quantity lots), and a
balance never goes negative: a reservation that cannot be covered refuses the order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from breakout.exchange_sim import errors

if TYPE_CHECKING:
    from breakout.exchange_sim.orders import Order

ZERO = Decimal(0)


@dataclass(slots=True)
class Balance:
    """Free and locked amounts of one asset."""

    free: Decimal = ZERO
    locked: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class AccountTrade:
    """One of our fills, as `myTrades` reports it."""

    trade_id: int
    order_id: int
    symbol: str
    price: int
    lots: int
    quote: Decimal
    commission: Decimal
    commission_asset: str
    ts_ms: int
    is_buyer: bool
    is_maker: bool


@dataclass(slots=True)
class Account:
    """One API key's account."""

    api_key: str
    secret: str = field(repr=False)
    balances: dict[str, Balance] = field(default_factory=dict)
    orders: dict[int, Order] = field(default_factory=dict)
    open_by_client_id: dict[str, int] = field(default_factory=dict)
    trades: list[AccountTrade] = field(default_factory=list)
    update_ms: int = 0

    def balance(self, asset: str) -> Balance:
        """The balance of an asset (created empty on first use)."""
        found = self.balances.get(asset)
        if found is None:
            found = self.balances[asset] = Balance()
        return found

    def lock(self, asset: str, amount: Decimal) -> None:
        """Move `amount` from free to locked, or refuse with Binance's insufficient balance."""
        balance = self.balance(asset)
        if amount < 0 or balance.free < amount:
            raise errors.insufficient_balance()
        balance.free -= amount
        balance.locked += amount

    def unlock(self, asset: str, amount: Decimal) -> None:
        """Move `amount` from locked back to free."""
        balance = self.balance(asset)
        if amount > balance.locked:
            raise AssertionError(f"unlocking {amount} {asset} but only {balance.locked} is locked")
        balance.locked -= amount
        balance.free += amount


@dataclass(frozen=True, kw_only=True)
class AccountConfig:
    """Credentials and opening balances of an account."""

    api_key: str
    secret: str = field(repr=False)
    balances: dict[str, Decimal] = field(default_factory=dict)


DEFAULT_BALANCES = {"USDT": Decimal(100_000)}


class Accounts:
    """Every account by API key; fees in basis points apply to all of them."""

    def __init__(
        self,
        configs: list[AccountConfig] | None = None,
        *,
        maker_fee_bps: Decimal = Decimal(10),
        taker_fee_bps: Decimal = Decimal(10),
    ) -> None:
        self.maker_fee_bps = maker_fee_bps
        self.taker_fee_bps = taker_fee_bps
        self.by_key: dict[str, Account] = {}
        for config in configs or []:
            self.add(config)

    def add(self, config: AccountConfig) -> Account:
        """Open an account with its opening balances."""
        if not config.api_key or not config.secret:
            raise ValueError("an account needs a non-empty API key and secret")
        account = Account(api_key=config.api_key, secret=config.secret)
        for asset, amount in config.balances.items():
            account.balance(asset.upper()).free = amount
        self.by_key[config.api_key] = account
        return account

    def get(self, api_key: str | None) -> Account:
        """The account of an API key, or Binance's -2015 (HTTP 401)."""
        account = self.by_key.get(api_key or "")
        if account is None:
            raise errors.invalid_api_key()
        return account
