"""Orders: the input of ``track_purchase`` and the "Placed Order" event it becomes."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Final

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationInfo, field_validator

from klaviyo_kit.errors import InvalidInputError
from klaviyo_kit.services._event_inputs import (
    EventInput,
    check_currency,
    profile_or_email,
    validated,
)
from klaviyo_kit.services._inputs import ProfileInput
from klaviyo_kit.services._validate import check_json_value, check_name, check_number

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["PLACED_ORDER", "Order", "OrderItem", "as_order", "order_event"]

PLACED_ORDER: Final = "Placed Order"
"""The metric name Klaviyo's e-commerce flows and reports expect for purchases."""


def _price(value: object, field: str) -> float:
    number = check_number(value, field)
    if number < 0:
        raise InvalidInputError(field, f"must not be negative, got {number}")
    return number


class OrderItem(BaseModel):
    """One line of an order.

    Attributes:
        product_id: Your product id.
        name: The product's name.
        quantity: How many were bought (at least 1).
        price: The price of one item.
        sku: The stock keeping unit.
        categories: The product's categories.
        brand: The product's brand.
        url: The product page.
        image_url: The product image.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    product_id: str = Field(min_length=1)
    name: str
    quantity: int = Field(default=1, ge=1, strict=True)
    price: float
    sku: str | None = None
    categories: list[str] = Field(default_factory=list)
    brand: str | None = None
    url: str | None = None
    image_url: str | None = None

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: object) -> str:
        return check_name(value, "name")

    @field_validator("price", mode="before")
    @classmethod
    def _price(cls, value: object) -> float:
        return _price(value, "price")

    @property
    def row_total(self) -> float:
        """The line's total: ``quantity * price``."""
        return self.quantity * self.price

    def as_property(self) -> dict[str, JsonValue]:
        """Return the line in Klaviyo's ``Items`` format (``ProductID``, ``Quantity``, ...)."""
        line: dict[str, JsonValue] = {
            "ProductID": self.product_id,
            "ProductName": self.name,
            "Quantity": self.quantity,
            "ItemPrice": self.price,
            "RowTotal": self.row_total,
            "Categories": list(self.categories),
        }
        optional = {
            "SKU": self.sku,
            "Brand": self.brand,
            "ProductURL": self.url,
            "ImageURL": self.image_url,
        }
        line.update({k: v for k, v in optional.items() if v is not None})
        return line


class Order(BaseModel):
    """A purchase, tracked as one "Placed Order" event keyed by its order id.

    Attributes:
        order_id: Your order id; it becomes the event's ``unique_id``, so tracking the same
            order twice records it once.
        profile: The customer: a :class:`ProfileInput`, a mapping of its fields, or an email.
        items: The order's lines (at least one).
        total: The amount charged; ``None`` means the sum of the lines' totals.
        currency: The ISO 4217 currency code of the amounts.
        time: When the order was placed (timezone-aware); ``None`` means now.
        discount_code: A discount code used.
        discount_value: The discount's amount.
        properties: More event properties (the computed ones win on a name clash).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    order_id: str = Field(min_length=1)
    profile: ProfileInput
    items: list[OrderItem] = Field(min_length=1)
    total: float | None = None
    currency: str | None = None
    time: datetime | None = None
    discount_code: str | None = None
    discount_value: float | None = None
    properties: dict[str, JsonValue] = Field(default_factory=dict)

    @field_validator("profile", mode="before")
    @classmethod
    def _profile(cls, value: object) -> object:
        return profile_or_email(value)

    @field_validator("total", "discount_value", mode="before")
    @classmethod
    def _amount(cls, value: object, info: ValidationInfo) -> float | None:
        return None if value is None else _price(value, info.field_name or "amount")

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str | None) -> str | None:
        return None if value is None else check_currency(value, "currency")

    @field_validator("properties")
    @classmethod
    def _properties(cls, value: dict[str, JsonValue]) -> dict[str, JsonValue]:
        check_json_value(value, "properties")
        return value

    @property
    def item_count(self) -> int:
        """How many items were bought (the sum of the quantities)."""
        return sum(item.quantity for item in self.items)

    @property
    def value(self) -> float:
        """The order's value: ``total``, or the sum of the lines' totals."""
        return self.total if self.total is not None else sum(i.row_total for i in self.items)


def _unique(values: list[str]) -> list[JsonValue]:
    return list(dict.fromkeys(values))


def order_event(order: Order) -> EventInput:
    """Return the "Placed Order" event for ``order``.

    Its properties follow Klaviyo's e-commerce format (``OrderId``, ``Items``, ``ItemNames``,
    ``Categories``, ``Brands``, ``ItemCount``), its value is the order's value and its
    ``unique_id`` the order id.

    Raises:
        InvalidInputError: If the event breaks a Klaviyo limit (e.g. too many properties).
    """
    properties: dict[str, JsonValue] = dict(order.properties)
    properties.update(
        {
            "OrderId": order.order_id,
            "ItemCount": order.item_count,
            "Items": [item.as_property() for item in order.items],
            "ItemNames": _unique([item.name for item in order.items]),
            "Categories": _unique([c for item in order.items for c in item.categories]),
            "Brands": _unique([item.brand for item in order.items if item.brand]),
        }
    )
    if order.discount_code is not None:
        properties["DiscountCode"] = order.discount_code
    if order.discount_value is not None:
        properties["DiscountValue"] = order.discount_value
    fields: dict[str, object] = {
        "metric": PLACED_ORDER,
        "profile": order.profile,
        "properties": properties,
        "value": order.value,
        "value_currency": order.currency,
        "time": order.time,
        "unique_id": order.order_id,
    }
    return validated(EventInput, fields, "order")


def as_order(order: Order | Mapping[str, object]) -> Order:
    """Return ``order`` as an :class:`Order`, naming a bad field (``order.items.0.price``).

    Raises:
        InvalidInputError: If ``order`` does not validate.
    """
    return validated(Order, order, "order")
