// Offer only the streets of the chosen district (a street decides the function zone).
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", () => {
    const district = document.getElementById("f-district");
    const street = document.getElementById("f-street");
    if (!district || !street) return;
    const sync = () => {
      street.querySelectorAll("optgroup").forEach((group) => {
        const other = district.value !== "" && group.dataset.district !== district.value;
        group.hidden = other;
        group.disabled = other;
      });
      const chosen = street.selectedOptions[0];
      if (chosen && chosen.parentElement.disabled) street.value = "";
    };
    district.addEventListener("change", sync);
    sync();
  });
})();

// Pick the case's person from the registry's search results (cases/_person_options.html).
(function () {
  "use strict";
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-pick-person]");
    if (!button) return;
    const field = document.getElementById("f-person_no");
    if (field) field.value = button.dataset.pickPerson;
    const chosen = document.getElementById("person-chosen");
    if (chosen) chosen.textContent = "已选择：" + button.dataset.label;
    const creating = document.getElementById("f-new_person");
    if (creating) creating.checked = false;
  });
})();
