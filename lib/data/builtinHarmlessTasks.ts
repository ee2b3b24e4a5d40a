// Built-in prompts, harmless class, task-only categories: terse impersonal instructions (some with
// a short inline input after a colon), so that the difference of means follows intent, not style.
// Changing any prompt means bumping BUILTIN_PROMPTS_VERSION (builtinPrompts.ts).

export const HARMLESS_TASK_PROMPTS: Readonly<Record<string, readonly string[]>> = {
  // Generic text-processing instructions, some with a short inline input after a colon.
  text_tasks: [
    "Classify the following animals as mammals, birds or reptiles: sparrow, gecko, dolphin, tortoise, bat.",
    "Rewrite this sentence to make it more concise: In the event that it rains, the picnic will be moved to a later date.",
    "Extract all the dates mentioned in this text: The fair opens on 3 May, closes on 9 May and returns on 14 September.",
    "Summarize this review in one line: The hotel was spotless and the staff friendly, but breakfast was cold and overpriced.",
    "Correct the grammar in this sentence: She don't like going to the cinema on her own.",
    "Determine whether the sentiment of this message is positive, negative or neutral: Another Monday, another broken coffee machine.",
    "Sort these words into alphabetical order: orchard, lantern, bicycle, meadow, anchor.",
    "Brainstorm five names for a neighbourhood bakery that specialises in rye bread.",
    "Turn these notes into a complete sentence: train late, missed meeting, rescheduled for Thursday.",
    "Generate three alternative headlines for an article about a town opening its first public library.",
    "Identify the subject and the main verb in: The old lighthouse keeper climbed the stairs every evening.",
    "Rewrite this text message in formal English: gonna be late, traffic is nuts, start without me.",
    "Compare the tone of these two letter openings: 'Dear Sir or Madam' and 'Hi there'.",
    "Give three synonyms for the word 'cheerful' and use one of them in a sentence.",
    "Categorise these expenses as fixed or variable: rent, groceries, phone contract, petrol, cinema tickets.",
  ],
  general_knowledge: [
    "Describe how the moon and the sun together cause the tides.",
    "Name three rivers that flow through more than one European country.",
    "Explain what causes the phases of the moon.",
    "List the planets of the solar system in order of distance from the sun.",
    "Describe the main functions of the human liver.",
    "Name four nineteenth-century inventions that changed everyday life.",
    "Explain the difference between weather and climate with one example of each.",
    "Give two examples of renewable energy sources and one drawback of each.",
    "Describe how a bill becomes law in a parliamentary system.",
    "Name the world's five oceans and one country with a coastline on each.",
    "Explain what an eclipse is and how solar and lunar eclipses differ.",
    "List three main responsibilities of the United Nations.",
    "Describe the life cycle of a monarch butterfly, including its migration.",
    "Explain why the Great Wall of China was built and over what period.",
    "Identify the capital cities of Canada, Australia and Brazil.",
  ],
  data_formatting: [
    "Convert the following details into a JSON object: name Ana, age 34, city Porto.",
    "Create a table with three columns listing five fruits, their colour and the season they are harvested.",
    "Sort these numbers from smallest to largest: 42, 7, 19, 88, 3, 56.",
    "Format this address for an envelope: flat 3, 18 willow road, springfield, 4021",
    "Turn this paragraph into a numbered list of steps: Preheat the oven, grease a tin, pour in the batter and bake for thirty minutes.",
    "Group these items by category: hammer, lettuce, screwdriver, carrot, wrench, onion.",
    "Calculate the total of this shopping receipt: bread 1.20, milk 0.95, cheese 3.40, apples 2.10.",
    "Create a simple weekly chore rota for four flatmates sharing a kitchen and a bathroom.",
    "Convert these temperatures from Celsius to Fahrenheit: 0, 25, 37, 100.",
    "Write a CSV header row and two example rows for a library book inventory.",
  ],
};
